// The evaluator, table-tested on examples from AWS's IAM User Guide (condition operators; single-
// and multivalued context keys; policy variables; policy evaluation logic), written down from the
// documentation's text rather than derived from our code.
import { describe, expect, it } from 'vitest';
import {
  arnMatches,
  conditionHolds,
  evaluate,
  evaluateStrict,
  knownOnlyAtRequestTime,
  requestContext,
  type EvalRequest,
  type PolicyDocument,
  type Principal,
  type Statement,
} from '../../src/iam/evaluate.js';

const user = {
  arn: 'arn:aws:iam::111122223333:user/david',
  userId: 'AIDAEXAMPLE',
  username: 'david',
  account: '111122223333',
  tags: { department: 'Finance' },
};
const role = {
  arn: 'arn:aws:sts::111122223333:assumed-role/dev/alice',
  userId: 'AROAEXAMPLE:alice',
  account: '111122223333',
};

function req(context: Record<string, string | string[]> = {}, over: Partial<EvalRequest> = {}): EvalRequest {
  return {
    action: 's3:GetObject',
    resource: 'arn:aws:s3:::amzn-s3-demo-bucket/home/david/file.txt',
    context,
    principal: user,
    ...over,
  };
}
const holds = (
  op: string,
  key: string,
  values: string[],
  context: Record<string, string | string[]> = {},
  principal: Principal = user,
) => conditionHolds(op, key, values, requestContext(req(context, { principal })));
const allowWith = (s: Partial<Statement>): PolicyDocument => ({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: '*', Resource: '*', ...s }],
});
const decide = (
  r: EvalRequest,
  identity: PolicyDocument[],
  more: { scps?: PolicyDocument[][]; boundary?: PolicyDocument } = {},
) =>
  evaluate(r, {
    identity: identity.map((document, i) => ({ name: `identity-${i + 1}`, document })),
    scps: more.scps?.map((level, l) => level.map((document, i) => ({ name: `scp-${l}-${i}`, document }))),
    boundary: more.boundary ? { name: 'boundary', document: more.boundary } : undefined,
  }).decision;

describe('condition operators (IAM User Guide: IAM JSON policy elements: Condition operators)', () => {
  it.each([
    // [operator, key, policy values, request context, expected]
    ['StringEquals', 'aws:PrincipalTag/department', ['Finance', 'Legal'], {}, true], // several values: OR
    ['StringEquals', 'aws:PrincipalTag/department', ['HR', 'Legal'], {}, false],
    ['StringEquals', 'aws:RequestedRegion', ['us-east-1'], {}, false], // key absent: positive operator false
    [
      'StringNotEquals',
      'aws:RequestedRegion',
      ['us-east-1', 'us-west-2'],
      { 'aws:RequestedRegion': 'eu-west-1' },
      true,
    ],
    [
      'StringNotEquals',
      'aws:RequestedRegion',
      ['us-east-1', 'us-west-2'],
      { 'aws:RequestedRegion': 'us-west-2' },
      false,
    ], // NOR
    ['StringNotEquals', 'aws:RequestedRegion', ['us-east-1'], {}, true], // key absent: negated operator true
    ['StringEqualsIgnoreCase', 'aws:PrincipalTag/department', ['finance'], {}, true],
    ['StringLike', 's3:prefix', ['home/${aws:username}/*'], { 's3:prefix': 'home/david/photos' }, true],
    ['StringLike', 's3:prefix', ['home/${aws:username}/*'], { 's3:prefix': 'home/maria/photos' }, false],
    ['StringNotLike', 's3:prefix', ['home/*'], { 's3:prefix': 'public/x' }, true],
    ['StringLikeIfExists', 'ec2:InstanceType', ['t1.*', 't2.*', 'm3.*'], {}, true], // IfExists: absent is true
    ['StringLikeIfExists', 'ec2:InstanceType', ['t1.*', 't2.*', 'm3.*'], { 'ec2:InstanceType': 't2.micro' }, true],
    ['StringLikeIfExists', 'ec2:InstanceType', ['t1.*', 't2.*', 'm3.*'], { 'ec2:InstanceType': 'c5.large' }, false],
    ['NumericLessThanEquals', 'aws:MultiFactorAuthAge', ['3600'], { 'aws:MultiFactorAuthAge': '1800' }, true],
    ['NumericLessThanEquals', 'aws:MultiFactorAuthAge', ['3600'], { 'aws:MultiFactorAuthAge': '7200' }, false],
    ['NumericLessThanEquals', 'aws:MultiFactorAuthAge', ['3600'], {}, false],
    ['NumericGreaterThan', 's3:max-keys', ['10'], { 's3:max-keys': '11' }, true],
    ['NumericNotEquals', 's3:max-keys', ['10'], { 's3:max-keys': '10' }, false],
    [
      'DateGreaterThan',
      'aws:CurrentTime',
      ['2020-04-01T00:00:00Z'],
      { 'aws:CurrentTime': '2020-05-01T12:00:00Z' },
      true,
    ],
    ['DateLessThan', 'aws:CurrentTime', ['2020-06-30T23:59:59Z'], { 'aws:CurrentTime': '2020-07-01T00:00:00Z' }, false],
    ['DateLessThan', 'aws:EpochTime', ['1593561599'], { 'aws:EpochTime': '1588334400' }, true], // epoch seconds
    ['Bool', 'aws:SecureTransport', ['true'], { 'aws:SecureTransport': 'false' }, false],
    ['Bool', 'aws:SecureTransport', ['false'], { 'aws:SecureTransport': 'false' }, true],
    ['BoolIfExists', 'aws:MultiFactorAuthPresent', ['false'], {}, true],
    [
      'IpAddress',
      'aws:SourceIp',
      ['203.0.113.0/24', '2001:DB8:1234:5678::/64'],
      { 'aws:SourceIp': '203.0.113.5' },
      true,
    ],
    [
      'IpAddress',
      'aws:SourceIp',
      ['203.0.113.0/24', '2001:DB8:1234:5678::/64'],
      { 'aws:SourceIp': '2001:db8:1234:5678::1' },
      true,
    ],
    ['IpAddress', 'aws:SourceIp', ['203.0.113.0/24'], { 'aws:SourceIp': '198.51.100.1' }, false],
    ['NotIpAddress', 'aws:SourceIp', ['192.0.2.0/24', '203.0.113.0/24'], { 'aws:SourceIp': '198.51.100.1' }, true],
    ['NotIpAddress', 'aws:SourceIp', ['192.0.2.0/24'], { 'aws:SourceIp': '192.0.2.7' }, false],
    [
      'ArnLike',
      'aws:SourceArn',
      ['arn:aws:cloudtrail:*:111122223333:trail/*'],
      { 'aws:SourceArn': 'arn:aws:cloudtrail:us-east-2:111122223333:trail/my-trail' },
      true,
    ],
    [
      'ArnEquals',
      'aws:SourceArn',
      ['arn:aws:sns:us-east-1:111122223333:topic'],
      { 'aws:SourceArn': 'arn:aws:sns:us-east-1:444455556666:topic' },
      false,
    ],
    ['ArnNotLike', 'aws:PrincipalArn', ['arn:aws:iam::*:role/Admin*'], {}, true], // david's ARN is not like an Admin role
    ['Null', 'aws:TokenIssueTime', ['true'], {}, true], // long-term keys: the key is absent
    ['Null', 'aws:TokenIssueTime', ['false'], {}, false],
    ['Null', 'aws:TokenIssueTime', ['false'], { 'aws:TokenIssueTime': '2020-01-01T00:00:00Z' }, true],
  ] as const)('%s %s %j with %j → %s', (op, key, values, context, expected) => {
    expect(holds(op, key, [...values], { ...context })).toBe(expected);
  });

  it('condition keys are case-insensitive', () => {
    expect(holds('StringEquals', 'AWS:PRINCIPALTAG/department', ['Finance'])).toBe(true);
  });

  it('an operator IAM does not know never matches', () => {
    expect(holds('StringSortOf', 'aws:PrincipalTag/department', ['Finance'])).toBe(false);
  });
});

describe('multivalued context keys (IAM User Guide: single-valued vs. multivalued context keys)', () => {
  const keys = ['environment', 'cost-center'];
  it.each([
    ['ForAllValues:StringEquals', ['environment'], true],
    ['ForAllValues:StringEquals', ['environment', 'cost-center'], true],
    ['ForAllValues:StringEquals', ['environment', 'dept'], false],
    ['ForAllValues:StringEquals', undefined, true], // no key: ForAllValues is true
    ['ForAnyValue:StringEquals', ['environment', 'dept'], true],
    ['ForAnyValue:StringEquals', ['dept'], false],
    ['ForAnyValue:StringEquals', undefined, false], // no key: ForAnyValue is false
    ['ForAllValues:StringNotEquals', ['dept', 'owner'], true],
    ['ForAllValues:StringNotEquals', ['dept', 'environment'], false],
    ['ForAnyValue:StringNotEquals', ['dept', 'environment'], true],
  ] as const)('%s aws:TagKeys %j → %s', (op, tagKeys, expected) => {
    const context: Record<string, string[]> = tagKeys ? { 'aws:TagKeys': [...tagKeys] } : {};
    expect(holds(op, 'aws:TagKeys', keys, context)).toBe(expected);
  });

  it('ForAllValues with wildcards: every value must match one pattern', () => {
    expect(holds('ForAllValues:StringLike', 'aws:TagKeys', ['env-*'], { 'aws:TagKeys': ['env-a', 'env-b'] })).toBe(
      true,
    );
    expect(holds('ForAllValues:StringLike', 'aws:TagKeys', ['env-*'], { 'aws:TagKeys': ['env-a', 'owner'] })).toBe(
      false,
    );
  });
});

describe('resources and policy variables (IAM User Guide: Resource, policy variables)', () => {
  it('matches ARNs segment by segment, and * matches an empty account field', () => {
    expect(
      arnMatches(
        'arn:aws:ssm:*:*:document/AWS-StartPortForwardingSessionToRemoteHost',
        'arn:aws:ssm:us-east-1::document/AWS-StartPortForwardingSessionToRemoteHost',
      ),
    ).toBe(true);
    expect(
      arnMatches(
        'arn:aws:ssm:*::document/AWS-*',
        'arn:aws:ssm:us-east-1::document/AWS-StartPortForwardingSessionToRemoteHost',
      ),
    ).toBe(true);
    // An account id in an AWS-owned document's ARN never matches (its account field is empty).
    expect(
      arnMatches(
        'arn:aws:ssm:us-east-1:111122223333:document/AWS-StartPortForwardingSessionToRemoteHost',
        'arn:aws:ssm:us-east-1::document/AWS-StartPortForwardingSessionToRemoteHost',
      ),
    ).toBe(false);
    expect(arnMatches('arn:aws:ec2:*:*:instance/*', 'arn:aws:ec2:ap-northeast-1:111122223333:instance/i-0abc')).toBe(
      true,
    );
    expect(arnMatches('arn:aws:ec2:*:*:instance/*', 'arn:aws-cn:ec2:cn-north-1:111122223333:instance/i-0abc')).toBe(
      false,
    );
    expect(arnMatches('arn:aws:s3:::amzn-s3-demo-bucket/*', 'arn:aws:s3:::amzn-s3-demo-bucket/a:b/c')).toBe(true);
  });

  it("${aws:username} in a Resource: the user's own folder only; a role has no user name, so no match", () => {
    const policy = allowWith({
      Action: 's3:GetObject',
      Resource: 'arn:aws:s3:::amzn-s3-demo-bucket/home/${aws:username}/*',
    });
    expect(decide(req(), [policy])).toBe('allow');
    expect(decide(req({}, { resource: 'arn:aws:s3:::amzn-s3-demo-bucket/home/maria/file.txt' }), [policy])).toBe(
      'implicit-deny',
    );
    expect(decide(req({}, { principal: role }), [policy])).toBe('implicit-deny');
  });

  it('${aws:userid}, ${aws:PrincipalTag/…}, ${aws:PrincipalAccount}', () => {
    expect(
      holds(
        'StringLike',
        'ssm:resourceTag/aws:ssmmessages:session-id',
        ['${aws:userid}'],
        { 'ssm:resourceTag/aws:ssmmessages:session-id': 'AROAEXAMPLE:alice' },
        role,
      ),
    ).toBe(true);
    expect(
      holds('StringEquals', 'aws:ResourceTag/department', ['${aws:PrincipalTag/department}'], {
        'aws:ResourceTag/department': 'Finance',
      }),
    ).toBe(true);
    expect(
      holds('StringEquals', 'aws:ResourceAccount', ['${aws:PrincipalAccount}'], {
        'aws:ResourceAccount': '111122223333',
      }),
    ).toBe(true);
  });

  it('${*} is a literal asterisk, not a wildcard', () => {
    expect(holds('StringLike', 's3:prefix', ['a${*}b'], { 's3:prefix': 'a*b' })).toBe(true);
    expect(holds('StringLike', 's3:prefix', ['a${*}b'], { 's3:prefix': 'axxb' })).toBe(false);
  });

  it('actions match case-insensitively and with wildcards; NotAction and NotResource', () => {
    expect(decide(req({}, { action: 'ssm:StartSession' }), [allowWith({ Action: 'SSM:start*' })])).toBe('allow');
    expect(
      decide(req({}, { action: 'ssm:StartSession' }), [allowWith({ Action: undefined, NotAction: 'iam:*' })]),
    ).toBe('allow');
    expect(decide(req({}, { action: 'iam:CreateUser' }), [allowWith({ Action: undefined, NotAction: 'iam:*' })])).toBe(
      'implicit-deny',
    );
    expect(
      decide(req(), [
        allowWith({}),
        { Statement: { Effect: 'Deny', Action: '*', NotResource: 'arn:aws:s3:::amzn-s3-demo-bucket/*' } },
      ]),
    ).toBe('allow');
    expect(
      decide(req({}, { resource: 'arn:aws:s3:::other/x' }), [
        allowWith({}),
        { Statement: { Effect: 'Deny', Action: '*', NotResource: 'arn:aws:s3:::amzn-s3-demo-bucket/*' } },
      ]),
    ).toBe('explicit-deny');
  });

  it('several keys under one operator, and several operators: all must hold (AND)', () => {
    const policy = allowWith({
      Condition: { StringEquals: { 'aws:PrincipalTag/department': 'Finance', 'aws:RequestedRegion': 'us-east-1' } },
    });
    expect(decide(req({ 'aws:RequestedRegion': 'us-east-1' }), [policy])).toBe('allow');
    expect(decide(req({ 'aws:RequestedRegion': 'eu-west-1' }), [policy])).toBe('implicit-deny');
    const two = allowWith({
      Condition: {
        StringEquals: { 'aws:PrincipalTag/department': 'Finance' },
        Bool: { 'aws:SecureTransport': 'true' },
      },
    });
    expect(decide(req({ 'aws:SecureTransport': 'false' }), [two])).toBe('implicit-deny');
  });
});

describe('policy evaluation logic (IAM User Guide)', () => {
  const allowAll = allowWith({});
  const denyS3: PolicyDocument = { Statement: [{ Effect: 'Deny', Action: 's3:*', Resource: '*' }] };

  it('everything is denied unless allowed; an explicit deny beats any allow', () => {
    expect(decide(req(), [])).toBe('implicit-deny');
    expect(decide(req(), [allowAll])).toBe('allow');
    expect(decide(req(), [allowAll, denyS3])).toBe('explicit-deny');
  });

  it('an SCP must allow at every level; an SCP deny wins', () => {
    expect(decide(req(), [allowAll], { scps: [[allowAll], [allowWith({ Action: 'ec2:*' })]] })).toBe('implicit-deny');
    expect(decide(req(), [allowAll], { scps: [[allowAll], [allowAll]] })).toBe('allow');
    expect(decide(req(), [allowAll], { scps: [[allowAll, denyS3]] })).toBe('explicit-deny');
    expect(decide(req(), [], { scps: [[allowAll]] })).toBe('implicit-deny'); // SCPs only cap
  });

  it('a permissions boundary caps what identity policies allow', () => {
    expect(decide(req(), [allowAll], { boundary: allowWith({ Action: 'iam:*' }) })).toBe('implicit-deny');
    expect(decide(req(), [allowWith({ Action: 'iam:*' })], { boundary: allowAll })).toBe('implicit-deny');
    expect(decide(req(), [allowAll], { boundary: allowAll })).toBe('allow');
  });

  it('names the deciding statement by Sid, or by position', () => {
    const r = evaluate(req(), {
      identity: [
        {
          name: 'p.json',
          document: {
            Statement: [
              { Effect: 'Allow', Action: 'ec2:*', Resource: '*' },
              { Effect: 'Allow', Action: 's3:*', Resource: '*' },
            ],
          },
        },
      ],
    });
    expect(r).toEqual({ decision: 'allow', by: { policy: 'p.json', statement: '#2', layer: 'identity-based policy' } });
    const d = evaluate(req(), {
      identity: [
        { name: 'p.json', document: { Statement: [{ Sid: 'NoS3', Effect: 'Deny', Action: 's3:*', Resource: '*' }] } },
      ],
    });
    expect(d).toEqual({
      decision: 'explicit-deny',
      by: { policy: 'p.json', statement: 'NoS3', layer: 'identity-based policy' },
    });
  });
});

describe('the case that started dbtunnel (docs/aws-facts.md §arns)', () => {
  const instance = {
    action: 'ssm:StartSession',
    resource: 'arn:aws:ec2:ap-northeast-1:111122223333:instance/i-0abc',
    context: { 'ssm:resourceTag/Name': 'bastion-db-maintenance' },
    principal: user,
  };
  const document = {
    action: 'ssm:StartSession',
    resource: 'arn:aws:ssm:ap-northeast-1::document/AWS-StartPortForwardingSessionToRemoteHost',
    context: {},
    principal: user,
  };
  const tagAllow: PolicyDocument = {
    Statement: [
      {
        Effect: 'Allow',
        Action: ['ssm:StartSession'],
        Resource: '*',
        Condition: { StringEquals: { 'ssm:resourceTag/Name': ['bastion-db-maintenance'] } },
      },
    ],
  };

  it('a tag condition allows the instance and can never allow the untagged document', () => {
    expect(decide(instance, [tagAllow])).toBe('allow');
    expect(decide(document, [tagAllow])).toBe('implicit-deny');
  });

  it('adding the document statement fixes it', () => {
    const fix: PolicyDocument = {
      Statement: [
        {
          Effect: 'Allow',
          Action: ['ssm:StartSession'],
          Resource: 'arn:aws:ssm:*:*:document/AWS-StartPortForwardingSessionToRemoteHost',
        },
      ],
    };
    expect(decide(document, [tagAllow, fix])).toBe('allow');
  });

  it('Deny … StringNotEquals ssm:resourceTag/Name also denies the document, explicitly', () => {
    const deny: PolicyDocument = {
      Statement: [
        {
          Effect: 'Deny',
          Action: 'ssm:StartSession',
          Resource: '*',
          Condition: { StringNotEquals: { 'ssm:resourceTag/Name': 'bastion-db-maintenance' } },
        },
      ],
    };
    expect(decide(document, [allowAll(), deny])).toBe('explicit-deny');
    expect(decide(instance, [allowAll(), deny])).toBe('allow');
  });
  function allowAll() {
    return allowWith({});
  }
});

describe('found by the differential run against an independent simulator (issue 15)', () => {
  const instanceArn = 'arn:aws:ec2:ap-northeast-1:111122223333:instance/i-0abc';
  it.each([
    // A pattern of fewer than six parts: the missing parts are `*`, and no `*` crosses a colon.
    ['arn:aws:ec2:*instance/*', instanceArn, 'expand', false],
    ['arn:aws:ec2:*', instanceArn, 'expand', true],
    ['arn:aws:ec2:ap-northeast-1', instanceArn, 'expand', true],
    ['arn:aws:ec2:ap-*:*', instanceArn, 'expand', true],
    ['arn:aws:ec2:*:111122223333:inst*', instanceArn, 'expand', true],
    ['arn:aws:ec2:*1:*', instanceArn, 'expand', true],
    ['arn:aws:ec2:*', 'arn:aws:ssm:ap-northeast-1::document/AWS-X', 'expand', false],
    // An SCP: only a last part that ends in `*` is read with the missing parts as `*`.
    ['arn:aws:ec2:ap-northeast-1', instanceArn, 'expand-if-wildcard', false],
    ['arn:aws:ec2:*', instanceArn, 'expand-if-wildcard', true],
    // Neither `*` nor an ARN matches nothing; a resource-less action's `*` is matched by `*` only.
    ['*instance*', instanceArn, 'expand', false],
    ['arn:aws:ec2:*:*:*', '*', 'expand', false],
  ] as const)('%s against %s (%s): %s', (pattern, arn, reader, matches) => {
    expect(arnMatches(pattern, arn, reader)).toBe(matches);
  });

  it('every request carries the keys AWS sets on all of them', () => {
    const ctx = requestContext(req({}, { resource: instanceArn, now: new Date('2026-12-02T06:00:00.123Z') }));
    expect(
      Object.fromEntries([...ctx].filter(([k]) => !k.startsWith('aws:principal') && !/^aws:user/.test(k))),
    ).toEqual({
      'aws:requestedregion': 'ap-northeast-1',
      'aws:securetransport': 'true',
      'aws:currenttime': '2026-12-02T06:00:00Z',
      'aws:epochtime': '1796191200',
      'aws:viaawsservice': 'false',
    });
    expect(requestContext(req({}, { resource: '*', region: 'eu-west-1' })).get('aws:requestedregion')).toBe(
      'eu-west-1',
    );
  });

  it('the SCP that denies outside the approved regions: no deny inside them', () => {
    const regionScp: PolicyDocument = {
      Statement: [
        { Effect: 'Allow', Action: '*', Resource: '*' },
        {
          Effect: 'Deny',
          NotAction: ['iam:*', 'sts:*'],
          Resource: '*',
          Condition: { StringNotEquals: { 'aws:RequestedRegion': ['ap-northeast-1', 'eu-west-1'] } },
        },
      ],
    };
    const inTokyo = req({}, { action: 'ssm:StartSession', resource: instanceArn });
    expect(decide(inTokyo, [allowWith({})], { scps: [[regionScp]] })).toBe('allow');
    const inOhio = req(
      {},
      { action: 'ssm:StartSession', resource: instanceArn.replace('ap-northeast-1', 'us-east-2') },
    );
    expect(decide(inOhio, [allowWith({})], { scps: [[regionScp]] })).toBe('explicit-deny');
  });
});

describe('keys AWS knows only at request time', () => {
  const ipOnly: PolicyDocument = allowWith({ Condition: { IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } } });

  it('a decision that hangs on one says so, with both outcomes', () => {
    const d = evaluate(req(), { identity: [{ name: 'p', document: ipOnly }] });
    expect(d).toMatchObject({
      decision: 'depends',
      on: ['aws:SourceIp'],
      outcomes: [
        {
          when: [{ operator: 'IpAddress', key: 'aws:SourceIp', values: ['10.0.0.0/8'], holds: false }],
          result: { decision: 'implicit-deny' },
        },
        { when: [{ holds: true }], result: { decision: 'allow' } },
      ],
    });
  });

  it('given (policy check --context), it decides; strict, an absent key is absent', () => {
    const with_ = (ip: string) =>
      evaluate(req({ 'aws:SourceIp': ip }), { identity: [{ name: 'p', document: ipOnly }] }).decision;
    expect(with_('10.1.2.3')).toBe('allow');
    expect(with_('203.0.113.7')).toBe('implicit-deny');
    expect(evaluateStrict(req(), { identity: [{ name: 'p', document: ipOnly }] }).decision).toBe('implicit-deny');
  });

  it('one that does not change the outcome leaves it decided', () => {
    const both = [allowWith({}), ipOnly];
    expect(decide(req(), both)).toBe('allow');
  });

  it.each([
    ['aws:SourceIp', true],
    ['aws:PrincipalOrgID', true],
    ['aws:MultiFactorAuthPresent', true],
    ['aws:PrincipalTag/team', true],
    ['aws:RequestedRegion', false],
    ['ssm:resourceTag/Name', false],
  ])('%s: %s', (key, open) => {
    expect(knownOnlyAtRequestTime(key)).toBe(open);
  });
});
