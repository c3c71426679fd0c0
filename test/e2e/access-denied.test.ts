// When AWS says no: the emulator enforces IAM and answers with AWS's exact sentences; dbtunnel names
// the refused resource and prints the fix — and following its own advice opens the tunnel.
import { afterEach, describe, expect, it } from 'vitest';
import type { PolicyDocument, Statement } from '../../src/iam/evaluate.js';
import { runDbtunnel, startDbtunnel } from '../support/cli.js';
import { roundTrip } from '../support/echo-server.js';
import { DEV_USER, type EmuPrincipal } from '../support/emulator.js';
import { BASTION_ID, createWorld, type World } from '../support/world.js';

const DOC_ARN = 'arn:aws:ssm:ap-northeast-1::document/AWS-StartPortForwardingSessionToRemoteHost';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

/** What a team typically grants besides StartSession. */
const BASE: Statement[] = [
  { Effect: 'Allow', Action: ['ec2:DescribeInstances', 'ssm:DescribeInstanceInformation'], Resource: '*' },
  {
    Effect: 'Allow',
    Action: ['ssm:TerminateSession', 'ssm:ResumeSession', 'ssmmessages:OpenDataChannel'],
    Resource: 'arn:aws:ssm:*:*:session/${aws:username}-*',
  },
];
/** The policy of docs/aws-facts.md §arns. */
const TAG_ONLY: Statement = {
  Effect: 'Allow',
  Action: ['ssm:StartSession'],
  Resource: '*',
  Condition: { StringEquals: { 'ssm:resourceTag/Name': ['bastion-db-maintenance'] } },
};

async function worldWith(statements: Statement[], scps?: PolicyDocument[][]): Promise<{ w: World; dev: EmuPrincipal }> {
  const dev: EmuPrincipal = { ...DEV_USER, policies: [{ Version: '2012-10-17', Statement: statements }] };
  world = await createWorld({ scenario: { principals: [dev], ...(scps ? { scps } : {}) } });
  return { w: world, dev };
}

/** The JSON dbtunnel printed under "Add this to the policy of …:". */
function printedFix(stderr: string): Statement[] {
  const lines = stderr.split('\n');
  const start = lines.findIndex((l) => l.includes('Add this to the policy of'));
  expect(start).toBeGreaterThan(-1);
  const end = lines.findIndex((l, i) => i > start && l.includes('AWS said:'));
  const json = JSON.parse(lines.slice(start + 1, end).join('\n')) as Statement | Statement[];
  return Array.isArray(json) ? json : [json];
}

async function expectTunnelWorks(w: World): Promise<void> {
  const t = startDbtunnel(['--config', w.configFile, 'stg', 'mydb'], w.env);
  const m = await t.waitFor(/mydb → 127\.0\.0\.1:(\d+)/);
  expect(await roundTrip(Number(m[1]), 'allowed now')).toBe('allowed now');
  t.child.kill('SIGINT');
  expect((await t.exited).code).toBe(0);
}

describe('when AWS says no', () => {
  it('a tag condition (docs/aws-facts.md §arns): names the document, prints the fix; the fix opens the tunnel', async () => {
    const { w, dev } = await worldWith([...BASE, TAG_ONLY]);
    const r = await runDbtunnel(['--config', w.configFile, 'stg', 'mydb'], w.env);
    expect(r.code).toBe(22);
    expect(r.stderr).toContain('AWS refused ssm:StartSession on the session document, not on the bastion.');
    expect(r.stderr).toContain(
      `Bastion:  arn:aws:ec2:ap-northeast-1:123456789012:instance/${BASTION_ID}  (Name=bastion-db-maintenance)`,
    );
    expect(r.stderr).toContain(`Denied:   ${DOC_ARN}`);
    expect(r.stderr).toMatch(/can never match the document, which carries no tags/);
    expect(r.stderr).toContain('Add this to the policy of arn:aws:iam::123456789012:user/dev:');
    // AWS's own sentence, exactly as the emulator wrote it, is kept.
    expect(r.stderr).toContain(
      `AWS said: User: arn:aws:iam::123456789012:user/dev is not authorized to perform: ssm:StartSession on resource: ${DOC_ARN} because no identity-based policy allows the ssm:StartSession action`,
    );
    expect(await w.pluginRecords()).toHaveLength(0);
    expect(w.emu.activeSessions()).toHaveLength(0);

    const fix = printedFix(r.stderr);
    expect(fix).toEqual([
      {
        Sid: 'StartSessionWithThePortForwardingDocument',
        Effect: 'Allow',
        Action: 'ssm:StartSession',
        Resource: 'arn:aws:ssm:*:*:document/AWS-StartPortForwardingSessionToRemoteHost',
      },
    ]);
    (dev.policies![0]!.Statement as Statement[]).push(...fix);
    await expectTunnelWorks(w);
  });

  it('a Name tag that does not match the bastion: shows its real tags; the printed statements open the tunnel', async () => {
    const { w, dev } = await worldWith([
      ...BASE,
      { ...TAG_ONLY, Condition: { StringEquals: { 'ssm:resourceTag/Name': 'bastion-db' } } },
    ]);
    const r = await runDbtunnel(['--config', w.configFile, 'stg', 'mydb'], w.env);
    expect(r.code).toBe(22);
    expect(r.stderr).toContain(`AWS refused ssm:StartSession on the bastion ${BASTION_ID}.`);
    expect(r.stderr).toContain('Its tags: Name=bastion-db-maintenance');
    const fix = printedFix(r.stderr);
    expect(fix[0]).toEqual({
      Sid: 'StartSessionOnTheBastion',
      Effect: 'Allow',
      Action: 'ssm:StartSession',
      Resource: 'arn:aws:ec2:ap-northeast-1:123456789012:instance/*',
      Condition: { StringEquals: { 'ssm:resourceTag/Name': 'bastion-db-maintenance' } },
    });
    (dev.policies![0]!.Statement as Statement[]).push(...fix);
    await expectTunnelWorks(w);
  });

  it('an explicit deny (StringNotEquals on the tag): no Allow can help, says why the document is caught', async () => {
    const { w } = await worldWith([
      ...BASE,
      { Effect: 'Allow', Action: 'ssm:StartSession', Resource: '*' },
      {
        Effect: 'Deny',
        Action: 'ssm:StartSession',
        Resource: '*',
        Condition: { StringNotEquals: { 'ssm:resourceTag/Name': 'bastion-db-maintenance' } },
      },
    ]);
    const r = await runDbtunnel(['--config', w.configFile, 'stg', 'mydb'], w.env);
    expect(r.code).toBe(22);
    expect(r.stderr).toContain('AWS refused ssm:StartSession on the session document, and no Allow can fix it.');
    expect(r.stderr).toContain('By: an explicit Deny in the identity-based policy');
    expect(r.stderr).toMatch(/also denies the\s+session document, which has no tags/);
    expect(r.stderr).toContain('"Resource": "arn:aws:ec2:*:*:instance/*"');
    expect(r.stderr).not.toContain('Add this to the policy of');
    expect(await w.pluginRecords()).toHaveLength(0);
  });

  it('a service control policy: names the layer and who must change it', async () => {
    const allowAll: PolicyDocument = { Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };
    const { w } = await worldWith(
      [
        ...BASE,
        TAG_ONLY,
        { Effect: 'Allow', Action: 'ssm:StartSession', Resource: DOC_ARN.replace('ap-northeast-1', '*') },
      ],
      [[allowAll, { Statement: [{ Effect: 'Deny', Action: 'ssm:StartSession', Resource: '*' }] }]],
    );
    const r = await runDbtunnel(['--config', w.configFile, 'stg', 'mydb'], w.env);
    expect(r.code).toBe(22);
    expect(r.stderr).toMatch(/AWS refused ssm:StartSession on the bastion, and no Allow can fix it\./);
    expect(r.stderr).toContain('a service control policy');
    expect(r.stderr).toContain('an administrator of the AWS Organization');
    expect(await w.pluginRecords()).toHaveLength(0);
    expect(w.emu.activeSessions()).toHaveLength(0);
  });

  it('DescribeInstances denied: the statement to add; the encoded message decoded only when allowed', async () => {
    const { w, dev } = await worldWith([TAG_ONLY]);
    const r = await runDbtunnel(['--config', w.configFile, 'stg', 'mydb'], w.env);
    expect(r.code).toBe(22);
    expect(r.stderr).toContain('AWS refused ec2:DescribeInstances.');
    expect(printedFix(r.stderr)).toEqual([
      { Sid: 'FindTheBastion', Effect: 'Allow', Action: 'ec2:DescribeInstances', Resource: '*' },
    ]);
    expect(w.emu.callsOf('StartSession')).toHaveLength(0);
    // DecodeAuthorizationMessage was tried, refused, and left no trace in the output.
    expect(w.emu.callsOf('DecodeAuthorizationMessage')).toHaveLength(1);
    expect(r.stderr).not.toMatch(/Decoded:|DecodeAuthorizationMessage/);

    (dev.policies![0]!.Statement as Statement[]).push({
      Effect: 'Allow',
      Action: 'sts:DecodeAuthorizationMessage',
      Resource: '*',
    });
    const again = await runDbtunnel(['--config', w.configFile, 'stg', 'mydb'], w.env);
    expect(again.stderr).toContain('Decoded: ec2:DescribeInstances on * was not allowed (no statement matched).');
  });

  it('TerminateSession denied after a clean close: no warning (the plugin already ended the session)', async () => {
    const { w } = await worldWith([
      {
        Effect: 'Allow',
        Action: ['ec2:DescribeInstances', 'ssm:StartSession', 'ssmmessages:OpenDataChannel'],
        Resource: '*',
      },
    ]);
    const t = startDbtunnel(['--config', w.configFile, 'stg', 'mydb'], w.env);
    await t.waitFor(/mydb → /);
    t.child.kill('SIGINT');
    expect((await t.exited).code).toBe(0);
    expect(t.stderr()).not.toMatch(/Could not terminate/);
    expect(w.emu.activeSessions()).toHaveLength(0);
  });

  it('TerminateSession denied after the plugin was killed: warns the session may linger, prints the session statements', async () => {
    const { w } = await worldWith([
      {
        Effect: 'Allow',
        Action: ['ec2:DescribeInstances', 'ssm:StartSession', 'ssmmessages:OpenDataChannel'],
        Resource: '*',
      },
    ]);
    const t = startDbtunnel(['--config', w.configFile, 'stg', 'mydb'], { ...w.env, FAKE_PLUGIN_IGNORE_SIGINT: '1' });
    await t.waitFor(/mydb → /);
    t.child.kill('SIGINT');
    expect((await t.exited).code).toBe(0);
    expect(t.stderr()).toMatch(
      /Could not terminate session dev-[0-9a-f]+ .*may stay open on the bastion until Session Manager's idle timeout/,
    );
    expect(t.stderr()).toContain('"Resource": "arn:aws:ssm:*:*:session/${aws:username}-*"');
    expect(t.stderr()).toContain('"ssm:resourceTag/aws:ssmmessages:session-id": "${aws:userid}"');
  });
});
