// `dbtunnel policy` and `dbtunnel policy check`, as a user runs them.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runDbtunnel } from '../support/cli.js';

let dir: string;
let env: Record<string, string>;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'dbtunnel-policy-'));
  await writeFile(
    path.join(dir, 'dbtunnel.yaml'),
    'environments:\n  stg:\n    region: ap-northeast-1\n    bastion: bastion-db-maintenance\n    databases:\n      mydb: {host: mydb.internal, port: 3306}\n' +
      '  cn:\n    region: cn-north-1\n    bastion: {instanceId: i-0123456789abcdef0}\n    databases:\n      main: {host: main.internal, port: 5432}\n',
  );
  env = { PATH: process.env.PATH!, HOME: dir, NO_COLOR: '1' };
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const run = (args: string[]) => runDbtunnel(args, env, { cwd: dir });
const write = async (name: string, doc: unknown) => {
  await writeFile(path.join(dir, name), JSON.stringify(doc));
  return name;
};
const TAG_ONLY = {
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow', Action: ['ec2:DescribeInstances'], Resource: '*' },
    {
      Sid: 'TagOnly',
      Effect: 'Allow',
      Action: ['ssm:StartSession'],
      Resource: '*',
      Condition: { StringEquals: { 'ssm:resourceTag/Name': ['bastion-db-maintenance'] } },
    },
    {
      Effect: 'Allow',
      Action: ['ssm:TerminateSession', 'ssmmessages:OpenDataChannel'],
      Resource: 'arn:aws:ssm:*:*:session/${aws:username}-*',
    },
  ],
};

describe('dbtunnel policy', () => {
  it('--json prints only the document, and policy check passes it', async () => {
    const r = await run(['policy', 'stg', '--json']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const doc = JSON.parse(r.stdout);
    expect(doc.Version).toBe('2012-10-17');
    expect(JSON.stringify(doc)).toContain('arn:aws:ssm:*:*:document/AWS-StartPortForwardingSessionToRemoteHost');
    await write('generated.json', doc);
    for (const principal of [
      'arn:aws:iam::123456789012:user/dev',
      'arn:aws:sts::123456789012:assumed-role/DbDevelopers/alice@corp',
    ]) {
      const check = await run([
        'policy',
        'check',
        'stg',
        'mydb',
        '--policy',
        'generated.json',
        '--principal',
        principal,
      ]);
      expect(check.code, check.stdout + check.stderr).toBe(0);
      expect(check.stderr).toContain('All 5 required requests are allowed.');
    }
  });

  it("every ARN in the region's partition; an instance id bastion needs DescribeInstances only for the network check", async () => {
    const r = await run(['policy', 'cn', '--json']);
    const text = r.stdout;
    expect(text).toContain('arn:aws-cn:ec2:cn-north-1:*:instance/i-0123456789abcdef0');
    expect(text).toContain('arn:aws-cn:ssm:*:*:session/${aws:username}-*');
    const describing = (
      JSON.parse(text) as { Statement: { Sid: string; Action: string | string[] }[] }
    ).Statement.filter((s) => [s.Action].flat().includes('ec2:DescribeInstances'));
    expect(describing.map((s) => s.Sid)).toEqual(['LookAtTheNetworkPathToTheDatabase']);
    expect(text).not.toMatch(/arn:aws:/);
  });

  it('an environment of several databases and none named: the policy for all of them', async () => {
    await writeFile(
      path.join(dir, 'two.yaml'),
      'environments:\n  stg:\n    region: ap-northeast-1\n    bastion: bastion-db-maintenance\n    databases:\n      mydb: {host: mydb.internal, port: 3306}\n      reports: {host: reports.internal, port: 5432}\n',
    );
    const r = await run(['--config', 'two.yaml', 'policy', 'stg', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(
      JSON.parse((await run(['--config', 'two.yaml', 'policy', 'stg', 'mydb', 'reports', '--json'])).stdout),
    );
    await write('generated.json', JSON.parse(r.stdout));
    const check = await run(['--config', 'two.yaml', 'policy', 'check', 'stg', '--policy', 'generated.json']);
    expect(check.code, check.stdout + check.stderr).toBe(0);
  });

  it('without --json: a note on stderr, the policy on stdout', async () => {
    const r = await run(['policy', 'stg']);
    expect(r.stderr).toMatch(/Least-privilege IAM policy for dbtunnel stg/);
    expect(() => JSON.parse(r.stdout)).not.toThrow();
  });
});

describe('dbtunnel policy check', () => {
  it('the tag-only policy: the document is denied, with the fix; exit 22', async () => {
    await write('dev.json', TAG_ONLY);
    const r = await run([
      'policy',
      'check',
      'stg',
      'mydb',
      '--policy',
      'dev.json',
      '--principal',
      'arn:aws:iam::123456789012:user/dev',
    ]);
    expect(r.code).toBe(22);
    expect(r.stdout).toContain(
      '✔ ssm:StartSession on arn:aws:ec2:ap-northeast-1:123456789012:instance/i-0123456789abcdef0  allowed by dev.json statement TagOnly',
    );
    expect(r.stdout).toContain(
      '✖ ssm:StartSession on arn:aws:ssm:ap-northeast-1::document/AWS-StartPortForwardingSessionToRemoteHost  no statement allows it',
    );
    expect(r.stdout).toContain('"Resource": "arn:aws:ssm:*:*:document/AWS-StartPortForwardingSessionToRemoteHost"');
    expect(r.stdout).toMatch(/– ssm:DescribeInstanceInformation on \* {2}no statement allows it {2}\(optional/);
    expect(r.stderr).toContain('1 of 5 required requests denied.');
  });

  it('for a role, ${aws:username} does not exist: its own sessions are denied', async () => {
    await write('dev.json', TAG_ONLY);
    const r = await run([
      'policy',
      'check',
      'stg',
      '--policy',
      'dev.json',
      '--principal',
      'arn:aws:sts::123456789012:assumed-role/DbDevelopers/alice',
    ]);
    expect(r.stdout).toMatch(/✖ ssm:TerminateSession on arn:aws:ssm:ap-northeast-1:123456789012:session\/alice-/);
  });

  it('an SCP deny: explicit, no Allow can fix it; a boundary caps', async () => {
    const full = await run(['policy', 'stg', '--json']);
    await write('generated.json', JSON.parse(full.stdout));
    await write('scp.json', {
      Statement: [
        { Effect: 'Allow', Action: '*', Resource: '*' },
        { Sid: 'NoSessions', Effect: 'Deny', Action: 'ssm:StartSession', Resource: '*' },
      ],
    });
    const r = await run(['policy', 'check', 'stg', '--policy', 'generated.json', '--scp', 'scp.json']);
    expect(r.code).toBe(22);
    expect(r.stdout).toContain(
      'explicitly denied by scp.json statement NoSessions (service control policy); no Allow can fix it',
    );
    await write('boundary.json', {
      Statement: [{ Effect: 'Allow', Action: ['ec2:*', 'ssm:StartSession'], Resource: '*' }],
    });
    const b = await run(['policy', 'check', 'stg', '--policy', 'generated.json', '--boundary', 'boundary.json']);
    expect(b.code).toBe(22);
    expect(b.stdout).toMatch(/✖ ssm:TerminateSession .* no statement in the permissions boundary allows it/);
  });

  it('--json: verdicts as data', async () => {
    await write('dev.json', TAG_ONLY);
    const r = await run(['policy', 'check', 'stg', '--policy', 'dev.json', '--json']);
    const out = JSON.parse(r.stdout);
    expect(out.ok).toBe(false);
    expect(out.results.find((x: { id: string }) => x.id === 'start-session-with-document').decision.decision).toBe(
      'implicit-deny',
    );
  });

  it('a file that is not a policy: says what is wrong, exit 10', async () => {
    await writeFile(path.join(dir, 'bad.json'), '{"Statement": [{"Effect": "Maybe", "Action": "x"}]}');
    const r = await run(['policy', 'check', 'stg', '--policy', 'bad.json']);
    expect(r.code).toBe(10);
    expect(r.stderr).toContain('Policy file bad.json is not a policy document:');
    expect(r.stderr).toContain('Effect must be "Allow" or "Deny"');
    await writeFile(path.join(dir, 'broken.json'), '{"Statement": ');
    expect((await run(['policy', 'check', 'stg', '--policy', 'broken.json'])).stderr).toMatch(/is not valid JSON/);
    expect((await run(['policy', 'check', 'stg', '--policy', 'missing.json'])).stderr).toMatch(
      /Policy file missing\.json does not exist\./,
    );
    expect((await run(['policy', 'check', 'stg'])).code).toBe(2);
  });

  it('a decision that hangs on a key known only at request time says so with both outcomes; --context decides it', async () => {
    const doc = JSON.parse((await run(['policy', 'stg', '--json'])).stdout);
    // The company's guardrail: no tunnel from outside the office network.
    await write('generated.json', doc);
    await write('office.json', {
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'OfficeOnly',
          Effect: 'Deny',
          Action: 'ssm:StartSession',
          Resource: '*',
          Condition: { NotIpAddress: { 'aws:SourceIp': '10.0.0.0/8' } },
        },
      ],
    });
    const open = await run(['policy', 'check', 'stg', '--policy', 'generated.json', '--policy', 'office.json']);
    expect(open.code, open.stdout + open.stderr).toBe(0);
    expect(open.stdout).toMatch(
      /\? ssm:StartSession on arn:aws:ec2:\S+ {2}depends on aws:SourceIp, known only when the request is made:/,
    );
    expect(open.stdout).toMatch(
      /explicitly denied by office\.json statement OfficeOnly .*when NotIpAddress aws:SourceIp 10\.0\.0\.0\/8 holds/,
    );
    expect(open.stdout).toMatch(
      /allowed by generated\.json statement StartSessionOnTheBastion +when NotIpAddress aws:SourceIp 10\.0\.0\.0\/8 does not/,
    );
    expect(open.stderr).toContain('2 requests depend on aws:SourceIp: give it with --context key=value to decide');
    const home = await run([
      'policy',
      'check',
      'stg',
      '--policy',
      'generated.json',
      '--policy',
      'office.json',
      '--context',
      'aws:SourceIp=203.0.113.7',
    ]);
    expect(home.code).toBe(22);
    expect(home.stdout).toMatch(/✖ ssm:StartSession .*explicitly denied by office\.json statement OfficeOnly/);
    const office = await run([
      'policy',
      'check',
      'stg',
      '--policy',
      'generated.json',
      '--policy',
      'office.json',
      '--context',
      'aws:SourceIp=10.1.2.3',
    ]);
    expect(office.code).toBe(0);
    expect(
      (await run(['policy', 'check', 'stg', '--policy', 'generated.json', '--context', 'nonsense'])).stderr,
    ).toContain('--context takes key=value (got "nonsense").');
  });

  it('the SCP that denies outside the approved regions does not deny inside them', async () => {
    const doc = JSON.parse((await run(['policy', 'stg', '--json'])).stdout);
    await write('generated.json', doc);
    await write('regions.json', {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: '*', Resource: '*' },
        {
          Effect: 'Deny',
          NotAction: ['iam:*', 'sts:*'],
          Resource: '*',
          Condition: { StringNotEquals: { 'aws:RequestedRegion': ['ap-northeast-1'] } },
        },
      ],
    });
    const r = await run(['policy', 'check', 'stg', '--policy', 'generated.json', '--scp', 'regions.json']);
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).not.toContain('explicitly denied');
  });

  it('--json: one document, with the warnings inside it', async () => {
    await write('odd.json', {
      ...TAG_ONLY,
      Statement: [
        ...TAG_ONLY.Statement,
        {
          Effect: 'Allow',
          Action: 'ssm:StartSession',
          Resource: '*',
          Condition: { StringEqualsMaybe: { 'ssm:resourceTag/Name': 'x' } },
        },
      ],
    });
    const r = await run(['policy', 'check', 'stg', '--policy', 'odd.json', '--json']);
    const out = JSON.parse(r.stdout);
    expect(out.warnings).toEqual([
      'odd.json: condition operator "StringEqualsMaybe" is not one IAM knows; that condition never matches.',
    ]);
  });

  it('a policy AWS would reject is said to be one (*:StartSession, a Resource that is no ARN)', async () => {
    await write('wild.json', {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: '*:StartSession', Resource: ['*', 'instance/*'] }],
    });
    const r = await run(['policy', 'check', 'stg', '--policy', 'wild.json']);
    expect(r.code).toBe(10);
    expect(r.stderr).toContain('Policy file wild.json is not a policy AWS would accept:');
    expect(r.stderr).toContain(
      'Statement #1: Action "*:StartSession": a service prefix has letters, digits and hyphens only (no wildcard).',
    );
    expect(r.stderr).toContain('Statement #1: Resource "instance/*" is neither "*" nor an ARN (arn:…).');
  });
});
