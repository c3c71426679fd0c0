// When the database does not answer: doctor and a tunnel name the rule that blocks the path and print
// the command that fixes it. The VPCs live in moto_server (EC2 and RDS: an implementation nobody here
// wrote), reached through our emulator, which decides IAM; Session Manager and STS are the emulator's. Each blocking case then runs the printed fix,
// as printed, in bash with the AWS CLI against moto, and doctor must find the path open again.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  CreateNetworkAclEntryCommand,
  DeleteRouteCommand,
  RevokeSecurityGroupEgressCommand,
  RevokeSecurityGroupIngressCommand,
  AuthorizeSecurityGroupEgressCommand,
} from '@aws-sdk/client-ec2';
import { StopDBInstanceCommand } from '@aws-sdk/client-rds';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runDbtunnel, startDbtunnel } from '../support/cli.js';
import { DEV_USER, type EmuPrincipal } from '../support/emulator.js';
import { startMoto, type Moto } from '../support/moto.js';
import { freePort } from '../support/ports.js';
import { trackPid } from '../support/processes.js';
import { buildVpc, type MotoClients, motoClients, type TestVpc, vpcConfig } from '../support/vpc.js';
import { createWorld, type World } from '../support/world.js';
import net from 'node:net';

let moto: Moto;
let clients: MotoClients;
let next = 1;
beforeAll(async () => {
  moto = await startMoto();
  clients = motoClients(moto.url);
});
afterAll(async () => {
  clients?.ec2.destroy();
  clients?.rds.destroy();
  await moto?.close();
});
let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

async function worldFor(
  vpc: TestVpc,
  db: { host?: string; port?: number } = {},
  principals?: EmuPrincipal[],
): Promise<World> {
  const w = await createWorld({
    // EC2 and RDS are authorized by the emulator's IAM, then answered by moto.
    scenario: { upstream: moto.url, ...(principals ? { principals } : {}) },
    config: vpcConfig(vpc, { ...db, localPort: 0 }),
  });
  w.emu.scenario.instances = [{ id: vpc.bastionId }];
  return w;
}

const doctor = (w: World) => runDbtunnel(['--config', w.configFile, 'doctor', 'stg'], w.env);
const networkLine = (out: string) => out.split('\n').find((l) => l.slice(2).startsWith('network')) ?? '';
/** The command under the network line's arrow. */
const fixOf = (out: string) => {
  const lines = out.split('\n');
  const at = lines.findIndex((l) => l.slice(2).startsWith('network'));
  return (
    lines
      .slice(at + 1)
      .find((l) => l.includes('→'))
      ?.split('→ ')[1] ?? ''
  );
};

/** Run a printed fix as a user would: pasted into bash, the AWS CLI talking to moto. */
async function runFix(w: World, command: string): Promise<void> {
  await promisify(execFile)('bash', ['-c', command], { env: w.env });
}

async function blockedThenFixed(w: World, expected: { hop: RegExp; fix: string }) {
  const before = await doctor(w);
  expect(before.code, before.stdout + before.stderr).toBe(29);
  expect(networkLine(before.stdout)).toMatch(/^✖ network +mydb: blocked at the /);
  expect(networkLine(before.stdout)).toMatch(expected.hop);
  const fix = fixOf(before.stdout);
  expect(fix).toBe(expected.fix);
  await runFix(w, fix);
  const after = await doctor(w);
  expect(networkLine(after.stdout), after.stdout).toMatch(/^✔ network +mydb: .* every hop open/);
  expect(after.code, after.stdout + after.stderr).toBe(0);
}

const scope = '--region ap-northeast-1 --profile stg';

/** The database's group no longer lets the bastion's in (the case met most). */
const revokeIngress = (vpc: TestVpc) =>
  clients.ec2.send(
    new RevokeSecurityGroupIngressCommand({
      GroupId: vpc.sgDb,
      IpPermissions: [
        { IpProtocol: 'tcp', FromPort: 3306, ToPort: 3306, UserIdGroupPairs: [{ GroupId: vpc.sgBastion }] },
      ],
    }),
  );

describe('doctor: the path from the bastion to the database, against moto_server', () => {
  it('one VPC, open: every hop listed with what it checked, exit 0', async () => {
    const vpc = await buildVpc(clients, next++);
    world = await worldFor(vpc);
    const r = await doctor(world);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(networkLine(r.stdout)).toMatch(
      new RegExp(`^✔ network +mydb: 10\\.\\d+\\.1\\.\\d+ → ${vpc.host}:3306, every hop open`),
    );
    expect(r.stdout).toMatch(
      new RegExp(`✔ bastion security groups +${vpc.sgBastion} allows all traffic to 0\\.0\\.0\\.0/0`),
    );
    expect(r.stdout).toMatch(
      new RegExp(`✔ database security groups +${vpc.sgDb} allows tcp 3306 from ${vpc.sgBastion}`),
    );
    expect(r.stdout).toMatch(/✔ route to the database +rtb-\w+ keeps 10\.\d+\.2\.20 inside vpc-\w+ \(local\)/);
  });

  it("missing ingress on the database's group: named, and its authorize-security-group-ingress fixes it", async () => {
    const vpc = await buildVpc(clients, next++);
    await revokeIngress(vpc);
    world = await worldFor(vpc);
    await blockedThenFixed(world, {
      hop: new RegExp(`database security groups \\(${vpc.sgDb}\\)\\. No rule of ${vpc.sgDb} allows inbound tcp 3306`),
      fix:
        `aws ec2 authorize-security-group-ingress --group-id ${vpc.sgDb} --protocol tcp --port 3306 ` +
        `--source-group ${vpc.sgBastion} ${scope}`,
    });
  });

  it("the bastion's egress narrowed to 443: named, and its authorize-security-group-egress fixes it", async () => {
    const vpc = await buildVpc(clients, next++);
    await clients.ec2.send(
      new RevokeSecurityGroupEgressCommand({
        GroupId: vpc.sgBastion,
        IpPermissions: [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }],
      }),
    );
    await clients.ec2.send(
      new AuthorizeSecurityGroupEgressCommand({
        GroupId: vpc.sgBastion,
        IpPermissions: [{ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }],
      }),
    );
    world = await worldFor(vpc);
    await blockedThenFixed(world, {
      hop: new RegExp(`bastion security groups \\(${vpc.sgBastion}\\)`),
      fix:
        `aws ec2 authorize-security-group-egress --group-id ${vpc.sgBastion} --ip-permissions ` +
        `'IpProtocol=tcp,FromPort=3306,ToPort=3306,UserIdGroupPairs=[{GroupId=${vpc.sgDb}}]' ${scope}`,
    });
  });

  it('a network ACL deny numbered before the allow: named with its rule, and an allow just before it fixes it', async () => {
    const n = next++;
    const vpc = await buildVpc(clients, n);
    await clients.ec2.send(
      new CreateNetworkAclEntryCommand({
        NetworkAclId: vpc.aclDb,
        RuleNumber: 50,
        Protocol: '6',
        PortRange: { From: 3306, To: 3306 },
        RuleAction: 'deny',
        Egress: false,
        CidrBlock: `10.${n}.1.0/24`,
      }),
    );
    world = await worldFor(vpc);
    await blockedThenFixed(world, {
      hop: new RegExp(
        `database subnet network ACL \\(${vpc.aclDb}, ${vpc.dbSubnet}\\)\\. .*rule 50 \\(deny tcp 3306 from 10\\.${n}\\.1\\.0/24\\)`,
      ),
      fix:
        `aws ec2 create-network-acl-entry --network-acl-id ${vpc.aclDb} --ingress --rule-number 49 --protocol tcp ` +
        `--port-range From=3306,To=3306 --cidr-block 10.${n}.1.0/24 --rule-action allow ${scope}`,
    });
  });

  it('two peered VPCs: open with a route each way; without the way back, named, and create-route fixes it', async () => {
    const n = next++;
    const vpc = await buildVpc(clients, n, { peered: true });
    world = await worldFor(vpc);
    const open = await doctor(world);
    expect(networkLine(open.stdout), open.stdout).toMatch(/every hop open/);
    expect(open.stdout).toContain(`sends 10.${n}.1.`);
    expect(open.stdout).toContain(`to VPC peering connection ${vpc.peering}`);

    await clients.ec2.send(new DeleteRouteCommand({ RouteTableId: vpc.rtbDb, DestinationCidrBlock: `10.${n}.0.0/16` }));
    await blockedThenFixed(world, {
      hop: new RegExp(`route back \\(${vpc.rtbDb}\\)\\. No route in ${vpc.rtbDb} covers 10\\.${n}\\.1\\.`),
      fix:
        `aws ec2 create-route --route-table-id ${vpc.rtbDb} --destination-cidr-block 10.${n}.1.0/24 ` +
        `--vpc-peering-connection-id ${vpc.peering} ${scope}`,
    });
  });

  it('a stopped RDS instance: named, and start-db-instance fixes it', async () => {
    const vpc = await buildVpc(clients, next++, { rds: true });
    await clients.rds.send(new StopDBInstanceCommand({ DBInstanceIdentifier: vpc.rdsId }));
    world = await worldFor(vpc);
    await blockedThenFixed(world, {
      hop: new RegExp(`database \\(${vpc.rdsId}\\)\\. The RDS instance ${vpc.rdsId} is stopped\\.`),
      fix: `aws rds start-db-instance --db-instance-identifier ${vpc.rdsId} ${scope}`,
    });
  });

  it("the config's port is not the RDS endpoint's: that is the finding (not the security group, which was checked for the wrong port)", async () => {
    const vpc = await buildVpc(clients, next++, { rds: true });
    world = await worldFor(vpc, { port: 3307 });
    const r = await doctor(world);
    expect(r.code, r.stdout + r.stderr).toBe(29);
    expect(networkLine(r.stdout)).toContain(
      `blocked at the database (${vpc.rdsId}). The config says port 3307, but the RDS instance ${vpc.rdsId} listens on 3306.`,
    );
    expect(fixOf(r.stdout)).toBe('Set `port: 3306` for this database in the config.');
  });

  it('a name that does not resolve here: said, and the checks that need no address still made', async () => {
    const vpc = await buildVpc(clients, next++);
    world = await worldFor(vpc, { host: 'mydb.corp.invalid' });
    const r = await doctor(world);
    expect(r.stdout).toContain('Not checked: mydb.corp.invalid does not resolve here (a private hosted zone?)');
    expect(r.stdout).toMatch(/✔ bastion security groups +sg-\w+ allows all traffic/);
    expect(r.stdout).toMatch(/– database security groups +not known/);
    expect(networkLine(r.stdout)).toMatch(/^✔ network +mydb: .*no hop blocked \(\d not checked\)/);
    expect(r.code, r.stdout + r.stderr).toBe(0);
  });
});

describe('doctor --reachability: AWS Reachability Analyzer as a second opinion', () => {
  const reachLine = (out: string) => out.split('\n').find((l) => l.slice(2).startsWith('reachability')) ?? '';

  it('both find the same group: they agree; the path and the analysis are deleted again', async () => {
    const vpc = await buildVpc(clients, next++);
    await revokeIngress(vpc);
    world = await worldFor(vpc);
    world.emu.scenario.reachability = {
      found: false,
      explanations: [{ code: 'ENI_SG_RULES_MISMATCH', direction: 'ingress', securityGroupId: vpc.sgDb }],
    };
    const r = await runDbtunnel(['--config', world.configFile, 'doctor', 'stg', '--reachability', '--yes'], world.env);
    expect(r.code, r.stdout + r.stderr).toBe(29);
    expect(reachLine(r.stdout)).toBe(
      `✔ reachability     mydb: AWS Reachability Analyzer: no path: ENI_SG_RULES_MISMATCH (ingress): ${vpc.sgDb}. ` +
        `They agree: both name ${vpc.sgDb}.`,
    );
    const created = world.emu.callsOf('CreateNetworkInsightsPath')[0]!.input;
    expect(created).toMatchObject({ Protocol: 'tcp', DestinationPort: '3306', Source: expect.stringMatching(/^eni-/) });
    expect(created.Destination).toMatch(/^eni-/);
    expect(world.emu.callsOf('DeleteNetworkInsightsAnalysis')).toHaveLength(1);
    expect(world.emu.callsOf('DeleteNetworkInsightsPath')).toHaveLength(1);
    expect([...world.emu.insights.paths.keys(), ...world.emu.insights.analyses.keys()]).toEqual([]);
  });

  it('AWS finds no path where dbtunnel finds every hop open: they disagree, and it is said', async () => {
    const vpc = await buildVpc(clients, next++);
    world = await worldFor(vpc);
    world.emu.scenario.reachability = {
      found: false,
      explanations: [{ code: 'ACL_RULES_MISMATCH', direction: 'egress', aclId: vpc.aclDb }],
    };
    const r = await runDbtunnel(['--config', world.configFile, 'doctor', 'stg', '--reachability', '--yes'], world.env);
    expect(reachLine(r.stdout)).toMatch(
      /^⚠ reachability +mydb: .*no path: ACL_RULES_MISMATCH \(egress\): acl-\w+\. They disagree/,
    );
    expect(r.code, r.stdout + r.stderr).toBe(0);
  });

  it('AWS charges per analysis: without a terminal and without --yes, nothing is run (exit 15)', async () => {
    const vpc = await buildVpc(clients, next++);
    world = await worldFor(vpc);
    const r = await runDbtunnel(['--config', world.configFile, 'doctor', 'stg', '--reachability'], world.env);
    expect(r.code, r.stdout + r.stderr).toBe(15);
    expect(r.stderr).toContain('AWS charges for each analysis');
    expect(r.stderr).toContain('--reachability with --yes');
    expect(world.emu.callsOf('CreateNetworkInsightsPath')).toHaveLength(0);
  });

  it('Ctrl-C while AWS analyses: the analysis and the path are deleted before doctor stops (exit 130)', async () => {
    const vpc = await buildVpc(clients, next++);
    world = await worldFor(vpc);
    world.emu.scenario.reachability = { found: true, runningPolls: Number.POSITIVE_INFINITY };
    const t = startDbtunnel(['--config', world.configFile, 'doctor', 'stg', '--reachability', '--yes'], world.env);
    await t.waitFor(/✔ network/);
    const w = world;
    await expect
      .poll(() => w.emu.callsOf('DescribeNetworkInsightsAnalyses').length, { timeout: 10_000 })
      .toBeGreaterThan(0);
    t.child.kill('SIGINT');
    expect((await t.exited).code).toBe(130);
    expect([...w.emu.insights.paths.keys(), ...w.emu.insights.analyses.keys()]).toEqual([]);
  });
});

describe('the network check without some permissions', () => {
  it('a call that is not allowed: the hops it serves are "not known", with the permission named', async () => {
    const vpc = await buildVpc(clients, next++);
    const dev: EmuPrincipal = {
      ...DEV_USER,
      policies: [
        {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', NotAction: ['ec2:DescribeNetworkAcls', 'rds:*'], Resource: '*' }],
        },
      ],
    };
    world = await worldFor(vpc, {}, [dev]);
    const r = await doctor(world);
    expect(r.stdout).toMatch(/– bastion subnet network ACL +not known: not allowed to call ec2:DescribeNetworkAcls/);
    expect(r.stdout).toMatch(/– database subnet network ACL +not known: not allowed to call ec2:DescribeNetworkAcls/);
    expect(r.stdout).toContain('Not checked: not allowed to call ec2:DescribeNetworkAcls');
    expect(networkLine(r.stdout)).toMatch(/^✔ network +mydb: .*no hop blocked \(2 not checked\)/);
    // The permission is optional, listed with its purpose and the statement that grants it.
    expect(r.stdout).toMatch(
      /⚠ permissions +ec2:DescribeNetworkAcls on \* is not allowed \(optional: network check: the network ACLs/,
    );
    expect(r.stdout).toContain('"Sid": "LookAtTheNetworkPathToTheDatabase"');
    expect(r.code, r.stdout + r.stderr).toBe(0);
  });
});

describe('a tunnel whose database does not answer', () => {
  async function refusingWorld(vpc: TestVpc): Promise<World> {
    const w = await worldFor(vpc);
    // What the bastion reaches for the database: a port nobody listens on here.
    w.emu.scenario.network = { [`${vpc.host}:3306`]: `127.0.0.1:${await freePort()}` };
    return w;
  }

  const connect = (port: number) =>
    new Promise<void>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => s.write('hello'));
      s.on('close', () => resolve());
      s.on('error', () => resolve());
    });

  it('the first failed connection looks at the path, beside the tunnel: the rule and its fix under the warning', async () => {
    const vpc = await buildVpc(clients, next++);
    await revokeIngress(vpc);
    world = await refusingWorld(vpc);
    const t = startDbtunnel(['--config', world.configFile, 'stg', 'mydb'], world.env);
    const m = await t.waitFor(/mydb → 127\.0\.0\.1:(\d+)/);
    await connect(Number(m[1]));
    await t.waitFor(/→ aws ec2 authorize-security-group-ingress/);
    expect(t.stderr()).toContain(`The bastion could not connect to ${vpc.host}:3306 for mydb. Looking at the security`);
    expect(t.stderr()).toContain(`mydb: blocked at the database security groups (${vpc.sgDb}).`);
    expect(t.stderr()).toContain(
      `→ aws ec2 authorize-security-group-ingress --group-id ${vpc.sgDb} --protocol tcp --port 3306 ` +
        `--source-group ${vpc.sgBastion} ${scope}`,
    );
    // A second failure says so, without looking again.
    await connect(Number(m[1]));
    await t.waitFor(
      /could not connect to \S+ for mydb\. Its path was looked at after the first failure; dbtunnel doctor stg/,
    );
    t.child.kill('SIGINT');
    expect((await t.exited).code).toBe(0);
    expect(t.stderr().match(/blocked at the/g)).toHaveLength(1);
  });

  it('in the background: the finding goes to dbtunnel logs, with the fix', async () => {
    const vpc = await buildVpc(clients, next++);
    await revokeIngress(vpc);
    world = await refusingWorld(vpc);
    const w = world;
    try {
      const up = await runDbtunnel(['--config', w.configFile, 'up', '-d', 'stg', 'mydb'], w.env);
      expect(up.code, up.stderr).toBe(0);
      const port = Number(/mydb → 127\.0\.0\.1:(\d+)/.exec(up.stdout)![1]);
      for (const pid of up.stdout.matchAll(/\(pid (\d+)\)/g)) trackPid(Number(pid[1]));
      await connect(port);
      const logs = async () => (await runDbtunnel(['logs', 'stg', 'mydb'], w.env)).stdout;
      await expect.poll(logs, { timeout: 10_000 }).toContain('path blocked at the database security groups');
      expect(await logs()).toContain(
        `Fix: aws ec2 authorize-security-group-ingress --group-id ${vpc.sgDb} --protocol tcp --port 3306 ` +
          `--source-group ${vpc.sgBastion} ${scope}`,
      );
    } finally {
      await runDbtunnel(['down'], w.env);
    }
  });

  it('--json: the finding is an event of its own, with the fix as argv', async () => {
    const vpc = await buildVpc(clients, next++);
    await revokeIngress(vpc);
    world = await refusingWorld(vpc);
    const t = startDbtunnel(['--config', world.configFile, 'stg', 'mydb', '--json'], world.env);
    const m = await t.waitFor(/"event":"ready".*"port":(\d+)/);
    await connect(Number(m[1]));
    const line = await t.waitFor(/^\{"event":"path".*$/m);
    const record = JSON.parse(line[0]) as Record<string, unknown>;
    expect(record).toMatchObject({
      event: 'path',
      env: 'stg',
      db: 'mydb',
      verdict: 'blocked',
      blocking: {
        step: 'database security groups',
        resources: [vpc.sgDb],
        fix: [
          'aws',
          'ec2',
          'authorize-security-group-ingress',
          '--group-id',
          vpc.sgDb,
          '--protocol',
          'tcp',
          '--port',
          '3306',
          '--source-group',
          vpc.sgBastion,
          '--region',
          'ap-northeast-1',
          '--profile',
          'stg',
        ],
      },
    });
    expect((record.hops as unknown[]).length).toBe(6);
    t.child.kill('SIGINT');
    expect((await t.exited).code).toBe(0);
  });
});
