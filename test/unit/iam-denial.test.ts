// Every shape of docs/aws-facts.md §denials, as AWS writes it.
import { describe, expect, it } from 'vitest';
import { parseDenial } from '../../src/iam/denial.js';

const DOC = 'arn:aws:ssm:us-east-1::document/AWS-StartPortForwardingSessionToRemoteHost';
const USER = 'arn:aws:iam::123456789012:user/dev';

describe('parsing AccessDenied messages', () => {
  it('the real StartSession example with the document (implicit, identity-based)', () => {
    const d = parseDenial(
      'An error occurred (AccessDeniedException) when calling the StartSession operation: User: arn:aws:sts::507082836245:assumed-role/cdk-test-basti-instance-grant-connect/BohdanMac is not authorized to perform: ssm:StartSession on resource: arn:aws:ssm:us-east-1::document/AWS-StartPortForwardingSessionToRemoteHost because no identity-based policy allows the ssm:StartSession action',
    );
    expect(d).toMatchObject({
      principal: 'arn:aws:sts::507082836245:assumed-role/cdk-test-basti-instance-grant-connect/BohdanMac',
      action: 'ssm:StartSession',
      resource: DOC,
      resourceKind: 'document',
      documentOwner: 'aws',
      decision: 'implicit',
      layer: 'identity-based policy',
    });
  });

  it('the older form with nothing after the ARN, and the instance', () => {
    const d = parseDenial(
      'AccessDeniedException: User: arn:aws:iam::xxx:user/capa-account-2020-02-18-i is not authorized to perform: ssm:StartSession on resource: arn:aws:ec2:us-west-2:xxx:instance/i-0f379ed15c49bd641',
    );
    expect(d).toMatchObject({
      action: 'ssm:StartSession',
      resource: 'arn:aws:ec2:us-west-2:xxx:instance/i-0f379ed15c49bd641',
      resourceKind: 'instance',
      decision: 'unknown',
    });
    expect(d.layer).toBeUndefined();
  });

  it.each([
    ['identity-based policy', 'identity-based policy'],
    ['permissions boundary', 'permissions boundary'],
    ['session policy', 'session policy'],
    ['service control policy', 'service control policy'],
    ['resource control policy', 'resource control policy'],
    ['resource-based policy', 'resource-based policy'],
    ['VPC endpoint policy', 'VPC endpoint policy'],
  ])('implicit: because no %s allows', (words, layer) => {
    const d = parseDenial(
      `User: ${USER} is not authorized to perform: ssm:StartSession on resource: ${DOC} because no ${words} allows the ssm:StartSession action`,
    );
    expect(d).toMatchObject({ decision: 'implicit', layer, resource: DOC });
  });

  it.each([
    ['an identity-based policy', 'identity-based policy'],
    ['a permissions boundary', 'permissions boundary'],
    ['a sessions policy', 'session policy'],
    ['a service control policy', 'service control policy'],
    ['a resource control policy', 'resource control policy'],
    ['a resource-based policy', 'resource-based policy'],
    ['a VPC endpoint policy', 'VPC endpoint policy'],
    [
      'a VPC endpoint policy transitively through a service control policy',
      'VPC endpoint policy through a service control policy',
    ],
  ])('explicit: with an explicit deny in %s', (words, layer) => {
    const d = parseDenial(
      `User: ${USER} is not authorized to perform: ssm:StartSession on resource: ${DOC} with an explicit deny in ${words}`,
    );
    expect(d).toMatchObject({ decision: 'explicit', layer, resource: DOC });
    expect(d.policyArn).toBeUndefined();
  });

  it('the 2025 form naming the denying policy', () => {
    const d = parseDenial(
      `User: ${USER} is not authorized to perform: ssm:StartSession on resource: ${DOC} with an explicit deny in a service control policy: arn:aws:organizations::123456789012:policy/o-abc/service_control_policy/p-12345678`,
    );
    expect(d).toMatchObject({
      decision: 'explicit',
      layer: 'service control policy',
      policyArn: 'arn:aws:organizations::123456789012:policy/o-abc/service_control_policy/p-12345678',
    });
    const id = parseDenial(
      `User: ${USER} is not authorized to perform: ssm:StartSession on resource: arn:aws:ec2:ap-northeast-1:123456789012:instance/i-0abc with an explicit deny in an identity-based policy: arn:aws:iam::123456789012:policy/NoProd`,
    );
    expect(id).toMatchObject({
      layer: 'identity-based policy',
      policyArn: 'arn:aws:iam::123456789012:policy/NoProd',
      resourceKind: 'instance',
    });
  });

  it('a quoted resource', () => {
    const d = parseDenial(
      `User: ${USER} is not authorized to perform: ssm:StartSession on resource: "arn:aws:ssm:ap-northeast-1:123456789012:document/MyDoc" because no identity-based policy allows the ssm:StartSession action`,
    );
    expect(d).toMatchObject({
      resource: 'arn:aws:ssm:ap-northeast-1:123456789012:document/MyDoc',
      resourceKind: 'document',
      documentOwner: 'customer',
    });
  });

  it('sessions and managed instances', () => {
    expect(
      parseDenial(
        `User: ${USER} is not authorized to perform: ssm:TerminateSession on resource: arn:aws:ssm:ap-northeast-1:123456789012:session/dev-0a1b2c3d4e5f67890 because no identity-based policy allows the ssm:TerminateSession action`,
      ).resourceKind,
    ).toBe('session');
    expect(
      parseDenial(
        `User: ${USER} is not authorized to perform: ssm:StartSession on resource: arn:aws:ssm:ap-northeast-1:123456789012:managed-instance/mi-0abc`,
      ).resourceKind,
    ).toBe('managed-instance');
  });

  it('EC2: no resource, the sentence after "You are not authorized", and an encoded message', () => {
    const d = parseDenial(
      `You are not authorized to perform this operation. User: ${USER} is not authorized to perform: ec2:DescribeInstances because no identity-based policy allows the ec2:DescribeInstances action. Encoded authorization failure message: AbCd-EfGh_123`,
    );
    expect(d).toMatchObject({
      action: 'ec2:DescribeInstances',
      decision: 'implicit',
      layer: 'identity-based policy',
      encodedMessage: 'AbCd-EfGh_123',
    });
    expect(d.resource).toBeUndefined();
    const bare = parseDenial(
      'You are not authorized to perform this operation. Encoded authorization failure message: XyZ',
    );
    expect(bare).toMatchObject({ decision: 'unknown', encodedMessage: 'XyZ' });
    expect(bare.action).toBeUndefined();
  });

  it("a shape nobody foresaw keeps AWS's text", () => {
    const d = parseDenial('Access denied for reasons of its own');
    expect(d).toEqual({ text: 'Access denied for reasons of its own', decision: 'unknown' });
  });
});

describe('decoded authorization messages', () => {
  it('summarizes what sts:DecodeAuthorizationMessage returns', async () => {
    const { summarizeDecoded } = await import('../../src/aws/decode.js');
    expect(
      summarizeDecoded(
        JSON.stringify({
          allowed: false,
          explicitDeny: true,
          matchedStatements: { items: [{ statementId: 'NoEc2', effect: 'DENY' }] },
          context: { action: 'ec2:DescribeInstances', resource: '*' },
        }),
      ),
    ).toBe('Decoded: ec2:DescribeInstances on * was explicitly denied (matched: DENY NoEc2).');
    expect(summarizeDecoded('not json')).toBeUndefined();
  });
});
