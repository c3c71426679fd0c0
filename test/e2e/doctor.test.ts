// `dbtunnel doctor`: every check, one line each, against the emulator.
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Statement } from '../../src/iam/evaluate.js';
import { runDbtunnel } from '../support/cli.js';
import { DEV_USER } from '../support/emulator.js';
import { BASTION_ID, createWorld, defaultConfig, FAKE_PLUGIN_DIR, type World } from '../support/world.js';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const doctor = (w: World, extra: string[] = [], env: Record<string, string> = {}) =>
  runDbtunnel(['--config', w.configFile, 'doctor', 'stg', ...extra], { ...w.env, ...env });

const line = (out: string, check: string) => out.split('\n').find((l) => l.slice(2).startsWith(check.padEnd(16))) ?? '';

describe('dbtunnel doctor', () => {
  it('all well: a line per check, exit 0, no session started', async () => {
    world = await createWorld();
    const r = await doctor(world);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    for (const check of [
      'config',
      'plugin',
      'region',
      'credentials',
      'bastion',
      'session manager',
      'agent version',
      'local port',
      'permissions',
    ]) {
      expect(line(r.stdout, check), check).toMatch(/^✔/);
    }
    // In the order they depend on each other: the region needs nothing, credentials need a region.
    expect(
      r.stdout
        .split('\n')
        .map((l) => l.slice(2, 18).trim())
        .filter(Boolean)
        .slice(0, 5),
    ).toEqual(['config', 'plugin', 'region', 'credentials', 'bastion']);
    expect(line(r.stdout, 'region')).toContain('ap-northeast-1 (from the config)');
    expect(line(r.stdout, 'credentials')).toContain('arn:aws:iam::123456789012:user/dev (profile stg)');
    expect(line(r.stdout, 'bastion')).toContain(BASTION_ID);
    expect(world.emu.callsOf('StartSession')).toHaveLength(0);
    // The instance and the document are simulated in separate calls, the tag as context.
    const sims = world.emu.callsOf('SimulatePrincipalPolicy');
    const instance = sims.find((c) => String(c.input['ResourceArns.member.1']).includes(':instance/'))!;
    expect(instance.input).toMatchObject({
      PolicySourceArn: 'arn:aws:iam::123456789012:user/dev',
      'ActionNames.member.1': 'ssm:StartSession',
    });
    expect(Object.values(instance.input)).toContain('ssm:resourceTag/Name');
    expect(sims.find((c) => String(c.input['ResourceArns.member.1']).includes(':document/'))).toBeDefined();
  });

  it('an environment of several databases and none named: every one is checked', async () => {
    world = await createWorld({ config: defaultConfig({ also: ['reports'] }) });
    const r = await doctor(world);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(line(r.stdout, 'config')).toContain('environment stg, mydb, reports');
    expect(
      r.stdout
        .split('\n')
        .filter((l) => l.slice(2).startsWith('local port'))
        .map((l) => l.replace(/^. local port +(\w+):.*$/, '$1')),
    ).toEqual(['mydb', 'reports']);
  });

  it('the tag-only policy: the document fails with the statement to add, exit 22', async () => {
    const statements: Statement[] = [
      {
        Effect: 'Allow',
        Action: [
          'ec2:DescribeInstances',
          'ssm:DescribeInstanceInformation',
          'iam:SimulatePrincipalPolicy',
          'ssm:TerminateSession',
          'ssmmessages:OpenDataChannel',
          'ssm:ResumeSession',
          'ssm:DescribeSessions',
        ],
        Resource: '*',
      },
      {
        Effect: 'Allow',
        Action: 'ssm:StartSession',
        Resource: '*',
        Condition: { StringEquals: { 'ssm:resourceTag/Name': 'bastion-db-maintenance' } },
      },
    ];
    world = await createWorld({ scenario: { principals: [{ ...DEV_USER, policies: [{ Statement: statements }] }] } });
    const r = await doctor(world);
    expect(r.code).toBe(22);
    expect(r.stdout).toMatch(
      /✔ permissions +ssm:StartSession on arn:aws:ec2:ap-northeast-1:123456789012:instance\/i-0abc1234def567890/,
    );
    expect(r.stdout).toMatch(
      /✖ permissions +ssm:StartSession on arn:aws:ssm:ap-northeast-1::document\/AWS-StartPortForwardingSessionToRemoteHost is not allowed/,
    );
    expect(r.stdout).toContain('"Resource": "arn:aws:ssm:*:*:document/AWS-StartPortForwardingSessionToRemoteHost"');
  });

  it('the simulation itself denied: says so and goes on; other checks decide the exit code', async () => {
    world = await createWorld({
      scenario: {
        principals: [
          { ...DEV_USER, policies: [{ Statement: [{ Effect: 'Allow', NotAction: 'iam:*', Resource: '*' }] }] },
        ],
      },
    });
    const r = await doctor(world);
    expect(r.code).toBe(0);
    expect(line(r.stdout, 'permissions')).toMatch(
      /^– permissions +skipped: not allowed to call iam:SimulatePrincipalPolicy/,
    );
    expect(r.stdout).toContain('dbtunnel policy check');
  });

  it('no region anywhere: the region row says so (not the credentials row), and what needs one is skipped; --region fixes it', async () => {
    const config = defaultConfig() as { environments: { stg: Record<string, unknown> } };
    delete config.environments.stg.region;
    delete config.environments.stg.profile;
    world = await createWorld({ config });
    const noRegion = { AWS_CONFIG_FILE: path.join(world.dir, 'none') };
    const r = await doctor(world, [], noRegion);
    expect(r.code).toBe(10);
    expect(line(r.stdout, 'region')).toMatch(/^✖ region +No AWS region is set for this environment\./);
    expect(line(r.stdout, 'credentials')).toMatch(/^– credentials +skipped: needs a region$/);
    const given = await doctor(world, ['--region', 'ap-northeast-1'], noRegion);
    expect(given.code, given.stdout).toBe(0);
    expect(line(given.stdout, 'region')).toMatch(/^✔ region +ap-northeast-1 \(from --region\)$/);
    expect(line(given.stdout, 'credentials')).toMatch(/^✔ credentials/);
  });

  it('an assumed role is simulated as its role', async () => {
    const role = 'arn:aws:iam::123456789012:role/db-tunnel';
    world = await createWorld({
      scenario: { roles: [{ arn: role }] },
      awsConfig: `[profile stg-role]\nrole_arn = ${role}\nsource_profile = stg\nregion = ap-northeast-1\n`,
    });
    const r = await doctor(world, ['--profile', 'stg-role']);
    expect(r.code, r.stdout).toBe(0);
    expect(line(r.stdout, 'credentials')).toMatch(/arn:aws:sts::123456789012:assumed-role\/db-tunnel\//);
    expect(world.emu.callsOf('SimulatePrincipalPolicy')[0]!.input.PolicySourceArn).toBe(role);
  });

  it("auto without the plugin: a warning that dbtunnel's own client will be used, not a failure", async () => {
    world = await createWorld();
    const pathWithout = world.env
      .PATH!.split(path.delimiter)
      .filter((d) => path.resolve(d) !== path.resolve(FAKE_PLUGIN_DIR))
      .join(path.delimiter);
    const r = await doctor(world, [], { PATH: pathWithout });
    expect(line(r.stdout, 'plugin')).toMatch(
      /^⚠ plugin +session-manager-plugin is not installed: dbtunnel's own session client will carry the tunnels$/,
    );
    expect(r.code, r.stdout).toBe(0);
  });

  it('no plugin, a bastion that is offline with an old agent, a busy port: each its own line; the first failure sets the exit code', async () => {
    const held = await new Promise<net.Server>((r) => {
      const s = net.createServer();
      s.listen(0, '127.0.0.1', () => r(s));
    });
    const port = (held.address() as net.AddressInfo).port;
    const config = defaultConfig() as {
      environments: { stg: { sessionClient?: string; databases: { mydb: Record<string, unknown> } } };
    };
    config.environments.stg.databases.mydb.localPort = port;
    config.environments.stg.sessionClient = 'plugin'; // insisting on it: its absence is a failure
    world = await createWorld({
      config,
      scenario: {
        instances: [
          {
            id: BASTION_ID,
            tags: { Name: 'bastion-db-maintenance' },
            ping: 'ConnectionLost',
            agentVersion: '3.0.161.0',
          },
        ],
      },
    });
    const pathWithout = world.env
      .PATH!.split(path.delimiter)
      .filter((d) => path.resolve(d) !== path.resolve(FAKE_PLUGIN_DIR))
      .join(path.delimiter);
    const r = await doctor(world, [], { PATH: pathWithout });
    held.close();
    expect(r.code).toBe(12);
    expect(line(r.stdout, 'plugin')).toMatch(
      /^✖ plugin +session-manager-plugin is not installed \(or not on PATH\)\.$/,
    ); // its own subject only
    expect(line(r.stdout, 'session manager')).toMatch(/^✖ .*is ConnectionLost/);
    expect(line(r.stdout, 'agent version')).toMatch(
      /^⚠ .*SSM agent 3\.0\.161\.0: older than 3\.1\.1188\.0, the first to forward to another host/,
    );
    expect(line(r.stdout, 'local port')).toMatch(
      new RegExp(`^✖ local port +Local port ${port} for mydb is already in use`),
    );
  });
});
