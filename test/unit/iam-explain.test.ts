import { describe, expect, it } from 'vitest';
import { parseDenial } from '../../src/iam/denial.js';
import { evaluate, type PolicyDocument } from '../../src/iam/evaluate.js';
import { explainDenial, policyHolder } from '../../src/iam/explain.js';
import { leastPrivilegePolicy, tunnelRequests, type TunnelScope } from '../../src/iam/requests.js';

const scope: TunnelScope = {
  region: 'ap-northeast-1',
  account: undefined,
  bastion: { kind: 'name', name: 'bastion-db-maintenance' },
  instanceId: 'i-0abc1234def567890',
  instanceTags: { Name: 'bastion-db-maintenance', Team: 'db' },
};
const sentence = (resource: string, tail: string) =>
  `User: arn:aws:sts::123456789012:assumed-role/DbDevelopers/alice@corp is not authorized to perform: ssm:StartSession on resource: ${resource} ${tail}`.trim();

describe('explaining a denial', () => {
  it('puts the statement in the role behind an assumed-role session', () => {
    expect(policyHolder('arn:aws:sts::123456789012:assumed-role/DbDevelopers/alice@corp')).toBe(
      'arn:aws:iam::123456789012:role/DbDevelopers',
    );
    expect(policyHolder('arn:aws-cn:sts::123456789012:assumed-role/R/s')).toBe('arn:aws-cn:iam::123456789012:role/R');
    expect(policyHolder('arn:aws:iam::123456789012:user/dev')).toBe('arn:aws:iam::123456789012:user/dev');
  });

  it("the document, in the region's partition, never with an account id", () => {
    const e = explainDenial(
      parseDenial(
        sentence(
          'arn:aws-cn:ssm:cn-north-1::document/AWS-StartPortForwardingSessionToRemoteHost',
          'because no identity-based policy allows the ssm:StartSession action',
        ),
      ),
      { ...scope, region: 'cn-north-1' },
    );
    const text = e.details.join('\n');
    expect(e.message).toBe('AWS refused ssm:StartSession on the session document, not on the bastion.');
    expect(text).toContain('"Resource": "arn:aws-cn:ssm:*:*:document/AWS-StartPortForwardingSessionToRemoteHost"');
    expect(text).toContain('Add this to the policy of arn:aws:iam::123456789012:role/DbDevelopers:');
  });

  it('the instance: its real tags, and a statement carrying partition, region, account and the tag the config looks up', () => {
    const e = explainDenial(
      parseDenial(sentence('arn:aws:ec2:ap-northeast-1:123456789012:instance/i-0abc1234def567890', '')),
      scope,
    );
    const text = e.details.join('\n');
    expect(text).toContain('Its tags: Name=bastion-db-maintenance, Team=db');
    expect(text).toContain('"Resource": "arn:aws:ec2:ap-northeast-1:123456789012:instance/*"');
    expect(text).toContain('"ssm:resourceTag/Name": "bastion-db-maintenance"');
    expect(text).not.toContain('"ssm:resourceTag/Team"');
  });

  it.each([
    ['with an explicit deny in a permissions boundary', 'the permissions boundary'],
    ['because no permissions boundary allows the ssm:StartSession action', 'the permissions boundary'],
    ['with an explicit deny in a sessions policy', 'session'],
    ['with an explicit deny in a resource control policy', 'resource control policies'],
    ['with an explicit deny in a VPC endpoint policy', 'VPC endpoint'],
    [
      'with an explicit deny in a service control policy: arn:aws:organizations::1:policy/o-1/service_control_policy/p-1',
      'p-1',
    ],
  ])('%s: no Allow can help; says who must change it', (tail, mention) => {
    const e = explainDenial(
      parseDenial(sentence('arn:aws:ec2:ap-northeast-1:123456789012:instance/i-0abc1234def567890', tail)),
      scope,
    );
    expect(e.message).toMatch(/no Allow can fix it/);
    expect([...e.details, e.hint].join('\n')).toContain(mention);
    expect(e.details.join('\n')).not.toContain('Add this');
  });

  it("an unforeseen shape falls back to AWS's words", () => {
    const e = explainDenial(parseDenial('Access denied, for a reason of its own'), scope);
    expect(e.kind).toBe('accessDenied');
    expect(e.details).toEqual(['AWS said: Access denied, for a reason of its own']);
  });
});

describe('the least-privilege policy', () => {
  const policy = leastPrivilegePolicy([scope]);
  const user = { arn: 'arn:aws:iam::123456789012:user/dev', userId: 'AIDAX', username: 'dev', account: '123456789012' };
  const role = {
    arn: 'arn:aws:sts::123456789012:assumed-role/DbDevelopers/alice@corp',
    userId: 'AROAX:alice@corp',
    account: '123456789012',
  };

  it.each([
    ['an IAM user', user],
    ['an assumed role', role],
  ])('allows every request of the tunnel for %s', (_who, caller) => {
    for (const r of tunnelRequests(scope, caller)) {
      const d = evaluate(
        { action: r.action, resource: r.resource, context: r.context, principal: caller },
        { identity: [{ name: 'generated', document: policy }] },
      );
      expect(d.decision, `${r.action} on ${r.resource}`).toBe('allow');
    }
  });

  it('does not allow StartSession on another bastion, or other sessions', () => {
    const other = tunnelRequests({ ...scope, instanceTags: { Name: 'prod-bastion' } }, user).find(
      (r) => r.id === 'start-session-on-bastion',
    )!;
    expect(evaluate({ ...other, principal: user }, { identity: [{ name: 'g', document: policy }] }).decision).toBe(
      'implicit-deny',
    );
    const theirs = {
      action: 'ssm:TerminateSession',
      resource: 'arn:aws:ssm:ap-northeast-1:123456789012:session/bob-0123',
      context: { 'ssm:resourceTag/aws:ssmmessages:session-id': 'AIDABOB' },
      principal: user,
    };
    expect(evaluate(theirs, { identity: [{ name: 'g', document: policy }] }).decision).toBe('implicit-deny');
  });

  it('merges environments: one bastion statement per tag condition, every ARN in its partition', () => {
    const p = leastPrivilegePolicy([
      scope,
      {
        region: 'cn-north-1',
        account: undefined,
        bastion: { kind: 'instance', instanceId: 'i-0123456789abcdef0', from: 'config' },
      },
    ]) as PolicyDocument;
    const text = JSON.stringify(p);
    expect(text).toContain('arn:aws-cn:ec2:cn-north-1:*:instance/i-0123456789abcdef0');
    expect(text).toContain('arn:aws-cn:ssm:*:*:document/AWS-StartPortForwardingSessionToRemoteHost');
    expect(text).toContain('arn:aws:ec2:ap-northeast-1:*:instance/*');
  });
});
