// Credentials beyond static keys: an assume-role profile and an MFA profile, through the SDK's own
// providers against the emulator's STS.
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runDbtunnel, startDbtunnel } from '../support/cli.js';
import { roundTrip } from '../support/echo-server.js';
import { createWorld, defaultConfig, type World } from '../support/world.js';

const ROLE = 'arn:aws:iam::123456789012:role/db-tunnel';
const MFA_ROLE = 'arn:aws:iam::123456789012:role/db-tunnel-mfa';
const MFA_SERIAL = 'arn:aws:iam::123456789012:mfa/dev';
const OTHER_ROLE = 'arn:aws:iam::123456789012:role/db-tunnel-other';

const awsConfig = `[profile stg-role]
role_arn = ${ROLE}
source_profile = stg
role_session_name = alice@corp
region = ap-northeast-1

[profile stg-mfa]
role_arn = ${MFA_ROLE}
source_profile = stg
mfa_serial = ${MFA_SERIAL}
region = ap-northeast-1
`;

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

async function makeWorld(also: string[] = []) {
  const config = defaultConfig({ also }) as { environments: { stg: Record<string, unknown> } };
  delete config.environments.stg.profile;
  world = await createWorld({
    config,
    awsConfig,
    scenario: {
      roles: [{ arn: ROLE }, { arn: OTHER_ROLE }, { arn: MFA_ROLE, mfaSerial: MFA_SERIAL, mfaCode: '123456' }],
    },
  });
  return world;
}

describe('credentials', () => {
  it("an assume-role profile: AssumeRole first, the session is the role's, the plugin gets the profile", async () => {
    const w = await makeWorld();
    const t = startDbtunnel(['--config', w.configFile, 'stg', 'mydb', '--profile', 'stg-role'], w.env);
    const m = await t.waitFor(/mydb → 127\.0\.0\.1:(\d+)/);
    expect(await roundTrip(Number(m[1]), 'role')).toBe('role');
    expect(w.emu.calls[0]!.action).toBe('AssumeRole');
    expect(w.emu.callsOf('AssumeRole')).toHaveLength(1);
    expect(w.emu.callsOf('StartSession')[0]!.principal).toBe(
      'arn:aws:sts::123456789012:assumed-role/db-tunnel/alice@corp',
    );
    const [session] = w.emu.sessions.values();
    expect(session!.id).toMatch(/^alice@corp-[0-9a-f]{17}$/);
    const [rec] = await w.pluginRecords();
    expect(rec!.argv[3]).toBe('stg-role');
    t.child.kill('SIGINT');
    expect((await t.exited).code).toBe(0);
  });

  it('an MFA profile: the code is asked once, and the plugin gets resolved keys and no profile', async () => {
    const w = await makeWorld();
    const t = startDbtunnel(['--config', w.configFile, 'stg', 'mydb', '--profile', 'stg-mfa'], w.env, {
      input: '123456\n',
    });
    const m = await t.waitFor(/mydb → 127\.0\.0\.1:(\d+)/);
    expect(t.stderr()).toContain(`MFA code for ${MFA_SERIAL}: `);
    const assume = w.emu.callsOf('AssumeRole');
    expect(assume).toHaveLength(1);
    expect(assume[0]!.input).toMatchObject({ SerialNumber: MFA_SERIAL, TokenCode: '123456' });
    const [rec] = await w.pluginRecords();
    expect(rec!.argv[3]).toBe('');
    expect(rec!.env.AWS_ACCESS_KEY_ID).toMatch(/^ASIA/);
    expect(rec!.env.AWS_SESSION_TOKEN).toMatch(/^EMUSTS/);
    expect(rec!.env.AWS_PROFILE).toBeUndefined();
    expect(await roundTrip(Number(m[1]), 'mfa')).toBe('mfa');
    t.child.kill('SIGINT');
    expect((await t.exited).code).toBe(0);
  });

  it('a wrong MFA code: a credentials error, exit 20, nothing started', async () => {
    const w = await makeWorld();
    const r = await runDbtunnel(['--config', w.configFile, 'stg', 'mydb', '--profile', 'stg-mfa'], w.env, {
      input: '654321\n',
    });
    expect(r.code).toBe(20);
    expect(r.stderr).toMatch(/MultiFactorAuthentication failed/);
    expect(w.emu.callsOf('StartSession')).toHaveLength(0);
  });

  it('no MFA code on standard input: says so, exit 20', async () => {
    const w = await makeWorld();
    const r = await runDbtunnel(['--config', w.configFile, 'stg', 'mydb', '--profile', 'stg-mfa'], w.env, {
      input: '',
    });
    expect(r.code).toBe(20);
    expect(r.stderr).toMatch(/No MFA code was entered/);
  });

  it('sessions and doctor do not ask for an MFA code: a credentials error that says how to get one', async () => {
    const w = await makeWorld();
    const sessions = await runDbtunnel(['--config', w.configFile, 'sessions', 'stg', '--profile', 'stg-mfa'], w.env, {
      input: '',
    });
    expect(sessions.code).toBe(20);
    expect(sessions.stderr).toContain(`needs an MFA code (${MFA_SERIAL}), and dbtunnel sessions does not ask for one`);
    expect(sessions.stderr).toMatch(/Open a tunnel once first/);
    const doctor = await runDbtunnel(['--config', w.configFile, 'doctor', 'stg', '--profile', 'stg-mfa'], w.env, {
      input: '',
    });
    expect(doctor.stdout + doctor.stderr).toContain('dbtunnel doctor does not ask for one');
    expect(w.emu.callsOf('StartSession')).toHaveLength(0);
  });

  it('the SDK default chain (exported keys, no profile) works too, and the plugin gets "" as profile', async () => {
    const w = await makeWorld();
    const t = startDbtunnel(['--config', w.configFile, 'stg', 'mydb'], {
      ...w.env,
      AWS_ACCESS_KEY_ID: 'AKIAEMULATORDEV00001',
      AWS_SECRET_ACCESS_KEY: 'emulator-dev-secret',
      AWS_SHARED_CREDENTIALS_FILE: `${w.dir}/none`,
    });
    await t.waitFor(/mydb → /);
    const [rec] = await w.pluginRecords();
    expect(rec!.argv[3]).toBe('');
    t.child.kill('SIGINT');
    expect((await t.exited).code).toBe(0);
  });

  it('MFA credentials are cached (0600) until they expire: the code is asked once; logout forgets them', async () => {
    const w = await makeWorld();
    const first = startDbtunnel(['--config', w.configFile, 'stg', 'mydb', '--profile', 'stg-mfa'], w.env, {
      input: '123456\n',
    });
    await first.waitFor(/mydb → /);
    first.child.kill('SIGINT');
    await first.exited;
    const dir = path.join(w.dir, '.cache', 'dbtunnel', 'credentials');
    const [file] = await readdir(dir);
    expect(file).toMatch(/^stg-mfa-[0-9a-f]{32}\.json$/);
    expect((await stat(path.join(dir, file!))).mode & 0o777).toBe(0o600);

    // No code on standard input this time: none is asked for, and no AssumeRole is made.
    const second = startDbtunnel(['--config', w.configFile, 'stg', 'mydb', '--profile', 'stg-mfa'], w.env, {
      input: '',
    });
    const m = await second.waitFor(/mydb → 127\.0\.0\.1:(\d+)/);
    expect(second.stderr()).not.toContain('MFA code');
    expect(w.emu.callsOf('AssumeRole')).toHaveLength(1);
    expect(await roundTrip(Number(m[1]), 'cached')).toBe('cached');
    const records = await w.pluginRecords();
    expect(records.at(-1)!.argv[3]).toBe('');
    expect(records.at(-1)!.env.AWS_SESSION_TOKEN).toMatch(/^EMUSTS/);
    second.child.kill('SIGINT');
    await second.exited;

    const logout = await runDbtunnel(['logout', '--profile', 'stg-mfa'], w.env);
    expect(logout.code).toBe(0);
    expect(logout.stdout + logout.stderr).toContain('forgot the cached credentials of profile stg-mfa');
    expect(await readdir(dir)).toEqual([]);
    const nothing = await runDbtunnel(['logout'], w.env);
    expect(nothing.stderr).toContain('No credentials were cached.');
    const third = await runDbtunnel(['--config', w.configFile, 'stg', 'mydb', '--profile', 'stg-mfa'], w.env, {
      input: '',
    });
    expect(third.code).toBe(20);
    expect(third.stderr).toMatch(/No MFA code was entered/);
  });

  it('up -d with an MFA profile: the code is asked once, in the foreground; the background supervisor uses the kept credentials', async () => {
    const w = await makeWorld(['otherdb']);
    const none = await runDbtunnel(
      ['--config', w.configFile, 'up', '-d', 'stg', 'mydb', '--profile', 'stg-mfa'],
      w.env,
      {
        input: '',
      },
    );
    expect(none.code).toBe(20);
    expect(none.stderr).toMatch(/No MFA code was entered/);
    expect(JSON.parse((await runDbtunnel(['ps', '--json'], w.env)).stdout)).toEqual([]);
    try {
      const up = await runDbtunnel(
        ['--config', w.configFile, 'up', '-d', 'stg', 'mydb', '--profile', 'stg-mfa'],
        w.env,
        {
          input: '123456\n',
        },
      );
      expect(up.code, up.stderr).toBe(0);
      expect(up.stderr).toContain(`MFA code for ${MFA_SERIAL}: `);
      expect(up.stdout).toMatch(/mydb → 127\.0\.0\.1:\d+ {3}in the background/);
      // Another database: the kept credentials, no question.
      const more = await runDbtunnel(
        ['--config', w.configFile, 'up', '-d', 'stg', 'otherdb', '--profile', 'stg-mfa'],
        w.env,
        {
          input: '',
        },
      );
      expect(more.code, more.stderr).toBe(0);
      expect(more.stderr).not.toContain('MFA code');
    } finally {
      await runDbtunnel(['down'], w.env);
    }
  });

  it('kept role credentials are for the profile as it is: another role_arn makes a fresh AssumeRole', async () => {
    const w = await makeWorld();
    const open = async () => {
      const t = startDbtunnel(['--config', w.configFile, 'stg', 'mydb', '--profile', 'stg-role'], w.env);
      await t.waitFor(/mydb → /);
      t.child.kill('SIGINT');
      expect((await t.exited).code).toBe(0);
    };
    await open();
    await open();
    expect(w.emu.callsOf('AssumeRole')).toHaveLength(1); // kept between runs
    const configFile = w.env.AWS_CONFIG_FILE!;
    await writeFile(
      configFile,
      (await readFile(configFile, 'utf8')).replace(`role_arn = ${ROLE}\n`, `role_arn = ${OTHER_ROLE}\n`),
    );
    await open();
    const assumed = w.emu.callsOf('AssumeRole');
    expect(assumed).toHaveLength(2);
    expect(assumed[1]!.input).toMatchObject({ RoleArn: OTHER_ROLE });
    expect(w.emu.callsOf('StartSession').at(-1)!.principal).toBe(
      'arn:aws:sts::123456789012:assumed-role/db-tunnel-other/alice@corp',
    );
  });

  it('static keys are never cached', async () => {
    const w = await makeWorld();
    const t = startDbtunnel(['--config', w.configFile, 'stg', 'mydb', '--profile', 'stg'], w.env);
    await t.waitFor(/mydb → /);
    t.child.kill('SIGINT');
    await t.exited;
    await expect(readdir(path.join(w.dir, '.cache', 'dbtunnel', 'credentials'))).rejects.toThrow();
  });
});
