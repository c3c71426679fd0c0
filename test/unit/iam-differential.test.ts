// dbtunnel's IAM evaluator (src/iam/evaluate.ts) held to an independent one: @cloud-copilot/iam-simulate
// (a dev dependency only, AGPL: the build's licence check keeps it out of dist/), over a generated
// corpus of policy sets and the requests a tunnel makes — wildcards, NotAction/NotResource, short
// ARNs, policy variables, every condition operator dbtunnel supports (negated, IfExists,
// ForAnyValue/ForAllValues on multivalued keys, Null), SCP levels and permissions boundaries. Every
// disagreement is either fixed or written down, with its reason, in docs/iam-evaluator.md and in
// KNOWN below. Seeded: IAM_SEED=n replays a run; IAM_CASES=n runs that many.
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { describe, expect, it } from 'vitest';
import {
  type Decided,
  evaluate,
  evaluateStrict,
  type NamedPolicy,
  type PolicyDocument,
  type Principal,
  type Statement,
} from '../../src/iam/evaluate.js';
import { grammarProblems } from '../../src/iam/policy-file.js';

const SEED = Number(process.env.IAM_SEED ?? 1202);
const CASES = Number(process.env.IAM_CASES ?? 1000);
const ACCOUNT = '123456789012';
const NOW = new Date('2026-12-02T06:00:00Z');

function generator(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(list: readonly T[]): T => list[int(list.length)]!;
  const some = <T>(list: readonly T[], max = 3): T[] => [
    ...new Set(Array.from({ length: 1 + int(max) }, () => pick(list))),
  ];
  return { next, int, pick, some };
}
type Random = ReturnType<typeof generator>;

const USER: Principal = {
  arn: `arn:aws:iam::${ACCOUNT}:user/dev`,
  userId: 'AIDAEXAMPLEDEV',
  username: 'dev',
  account: ACCOUNT,
};
const ROLE: Principal = {
  arn: `arn:aws:sts::${ACCOUNT}:assumed-role/db-tunnel/alice`,
  userId: 'AROAEXAMPLE:alice',
  account: ACCOUNT,
};

/** The requests a tunnel makes, in a region; the context each carries. */
interface TunnelRequest {
  action: string;
  resource: string;
  context: Record<string, string>;
}

function requests(region: string, principal: Principal): TunnelRequest[] {
  const owner = principal.username ?? 'alice';
  const session = `arn:aws:ssm:${region}:${ACCOUNT}:session/${owner}-0123456789abcdef0`;
  const sessionContext = { 'ssm:resourceTag/aws:ssmmessages:session-id': principal.userId };
  return [
    { action: 'ec2:DescribeInstances', resource: '*', context: {} },
    { action: 'ssm:DescribeInstanceInformation', resource: '*', context: {} },
    {
      action: 'ssm:StartSession',
      resource: `arn:aws:ec2:${region}:${ACCOUNT}:instance/i-0abc1234def567890`,
      context: { 'ssm:resourceTag/Name': 'bastion-db', 'aws:ResourceTag/Name': 'bastion-db' },
    },
    // AWS evaluates its own documents with an empty account field; the simulator's resource types
    // need an account (docs/iam-evaluator.md): the document is asked about as an account's.
    {
      action: 'ssm:StartSession',
      resource: `arn:aws:ssm:${region}:${ACCOUNT}:document/AWS-StartPortForwardingSessionToRemoteHost`,
      context: {},
    },
    { action: 'ssm:TerminateSession', resource: session, context: sessionContext },
    { action: 'ssm:ResumeSession', resource: session, context: sessionContext },
    // ssmmessages:OpenDataChannel is left out: the Service Authorization Reference gives it no
    // resource types, the Session Manager user guide grants it on session ARNs (docs/iam-evaluator.md).
  ];
}

/** What AWS would know of the request besides its own keys (given, so both evaluators have it). */
const REQUEST_TIME: Record<string, string | string[]> = {
  'aws:SourceIp': '10.1.2.3',
  'aws:MultiFactorAuthPresent': 'true',
  'aws:MultiFactorAuthAge': '300',
  'aws:PrincipalTag/team': 'db',
  'aws:PrincipalOrgPaths': ['o-abc/r-root/ou-dev/', 'o-abc/r-root/ou-db/'],
  'aws:TokenIssueTime': '2026-12-02T05:00:00Z',
};

const ACTIONS = [
  '*',
  'ssm:*',
  'ssm:StartSession',
  'ssm:Start*',
  'ssm:*Session',
  'SSM:startsession',
  'ssm:?tartSession',
  'ec2:Describe*',
  'ec2:DescribeInstances',
  'ssmmessages:*',
  'ssm:TerminateSession',
  'ssm:Describe*',
  'ssm:Terminate?ession',
  'iam:*',
];
const RESOURCES = [
  '*',
  'arn:aws:ec2:*:*:instance/*',
  'arn:aws:ec2:ap-northeast-1:*:instance/*',
  `arn:aws:ec2:*:${ACCOUNT}:instance/i-0abc*`,
  'arn:aws:ec2:*:*:instance/i-9999*',
  'arn:aws:ssm:*:*:document/AWS-StartPortForwardingSessionToRemoteHost',
  'arn:aws:ssm:*::document/*',
  `arn:aws:ssm:*:${ACCOUNT}:document/*`,
  'arn:aws:ssm:*:*:session/${aws:username}-*',
  'arn:aws:ssm:*:*:session/*',
  'arn:aws:ec2:*',
  'arn:aws:ec2:*instance/*',
  'arn:aws:ssm:us-east-1',
  'arn:aws:ssm:*:*',
  'arn:aws:*:*:*:*',
  'arn:aws:ec2:?p-*:*:instance/*',
  'arn:aws:ssm:eu-*:*:*',
  'arn:aws:ssm:*:*:session/${aws:userid}',
];

type Generated = [operator: string, key: string, values: string[]];
const STRING_KEYS: [string, string[]][] = [
  ['ssm:resourceTag/Name', ['bastion-db', 'bastion-*', 'other', 'BASTION-DB']],
  ['aws:ResourceTag/Name', ['bastion-db', 'b*', 'x']],
  ['aws:RequestedRegion', ['ap-northeast-1', 'eu-west-1', 'us-*', 'AP-NORTHEAST-1']],
  ['aws:username', ['dev', 'd?v', 'alice', '${aws:username}']],
  ['aws:PrincipalAccount', [ACCOUNT, '999999999999']],
  ['aws:PrincipalTag/team', ['db', 'web', '*']],
  ['aws:userid', ['AIDAEXAMPLEDEV', 'AROAEXAMPLE:*', '${aws:userid}']],
  ['ssm:resourceTag/aws:ssmmessages:session-id', ['${aws:userid}', 'AIDA*', 'nobody']],
  ['aws:CalledVia', ['ec2.amazonaws.com']],
];
const STRING_OPS = [
  'StringEquals',
  'StringNotEquals',
  'StringLike',
  'StringNotLike',
  'StringEqualsIgnoreCase',
  'StringNotEqualsIgnoreCase',
];

function condition(r: Random): Generated {
  const roll = r.int(8);
  const suffix = () => (r.next() < 0.2 ? 'IfExists' : '');
  if (roll <= 2) {
    const [key, values] = r.pick(STRING_KEYS);
    return [`${r.pick(STRING_OPS)}${suffix()}`, key, r.some(values, 2)];
  }
  if (roll === 3) {
    return [
      `${r.pick(['ArnLike', 'ArnNotLike', 'ArnEquals', 'ArnNotEquals'])}${suffix()}`,
      'aws:PrincipalArn',
      r.some([USER.arn, ROLE.arn, `arn:aws:iam::${ACCOUNT}:user/*`, `arn:aws:sts::${ACCOUNT}:assumed-role/db-*/*`], 2),
    ];
  }
  if (roll === 4) {
    const [key, values] = r.pick([
      ['aws:SecureTransport', ['true', 'false']],
      ['aws:MultiFactorAuthPresent', ['true', 'false']],
      ['aws:ViaAWSService', ['true', 'false']],
    ] as const);
    return [`Bool${suffix()}`, key, [r.pick(values)]];
  }
  if (roll === 5) {
    const op = r.pick([
      'NumericLessThan',
      'NumericGreaterThanEquals',
      'NumericEquals',
      'NumericNotEquals',
      'DateGreaterThan',
      'DateLessThan',
    ]);
    if (op.startsWith('Numeric'))
      return [
        `${op}${suffix()}`,
        r.pick(['aws:MultiFactorAuthAge', 'aws:EpochTime']),
        [r.pick(['300', '3600', '1796191200', '4000000000'])],
      ];
    return [
      `${op}${suffix()}`,
      r.pick(['aws:CurrentTime', 'aws:TokenIssueTime']),
      [r.pick(['2020-01-01T00:00:00Z', '2030-01-01T00:00:00Z', '2026-12-02T05:30:00Z'])],
    ];
  }
  if (roll === 6)
    return [
      `${r.pick(['IpAddress', 'NotIpAddress'])}${suffix()}`,
      'aws:SourceIp',
      r.some(['10.0.0.0/8', '192.168.0.0/16', '10.1.2.3/32'], 2),
    ];
  if (r.next() < 0.5)
    return [
      'Null',
      r.pick(['aws:PrincipalTag/team', 'aws:CalledVia', 'ssm:resourceTag/Name', 'aws:SourceVpc']),
      [r.pick(['true', 'false'])],
    ];
  return [
    `${r.pick(['ForAnyValue:', 'ForAllValues:'])}${r.pick(['StringLike', 'StringEquals', 'StringNotLike', 'StringNotEquals'])}`,
    r.pick(['aws:PrincipalOrgPaths', 'aws:CalledVia']),
    r.some(['o-abc/r-root/ou-dev/', 'o-abc/r-root/*', 'o-xyz/*'], 2),
  ];
}

function statement(r: Random, effect: 'Allow' | 'Deny'): Statement {
  const s: Statement = { Effect: effect };
  const listOrOne = (v: string[]) => (v.length === 1 && r.next() < 0.5 ? v[0]! : v);
  if (r.next() < 0.8) s.Action = listOrOne(r.some(ACTIONS));
  else s.NotAction = listOrOne(r.some(ACTIONS.filter((a) => a !== '*')));
  if (r.next() < 0.85) s.Resource = listOrOne(r.some(RESOURCES));
  else s.NotResource = listOrOne(r.some(RESOURCES.filter((x) => x !== '*')));
  if (r.next() < 0.55) {
    const c: NonNullable<Statement['Condition']> = {};
    for (let i = 0; i < 1 + r.int(2); i++) {
      const [op, key, values] = condition(r);
      c[op] = { ...c[op], [key]: values.length === 1 && r.next() < 0.5 ? values[0]! : values };
    }
    s.Condition = c;
  }
  if (r.next() < 0.3) s.Sid = `S${r.int(1000)}`;
  return s;
}

function policy(r: Random, allowBias: number): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: Array.from({ length: 1 + r.int(3) }, () => statement(r, r.next() < allowBias ? 'Allow' : 'Deny')),
  };
}

const FULL_ACCESS: PolicyDocument = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
};

interface Case {
  principal: Principal;
  region: string;
  identity: PolicyDocument[];
  scps: PolicyDocument[][];
  boundary: PolicyDocument | undefined;
}

function generateCase(r: Random): Case {
  return {
    principal: r.next() < 0.6 ? USER : ROLE,
    region: r.pick(['ap-northeast-1', 'us-east-1', 'eu-west-1']),
    identity: Array.from({ length: 1 + r.int(2) }, () => policy(r, 0.75)),
    // An SCP level is the FullAWSAccess policy (most organizations) plus guardrails, or its own.
    scps:
      r.next() < 0.4
        ? Array.from({ length: 1 + r.int(2) }, () =>
            r.next() < 0.7 ? [FULL_ACCESS, policy(r, 0.3)] : [policy(r, 0.6)],
          )
        : [],
    boundary: r.next() < 0.25 ? policy(r, 0.8) : undefined,
  };
}

const OURS: Record<Decided['decision'], string> = {
  allow: 'Allowed',
  'implicit-deny': 'ImplicitlyDenied',
  'explicit-deny': 'ExplicitlyDenied',
};

async function theirs(
  c: Case,
  req: TunnelRequest,
  known: Record<string, string | string[]> = REQUEST_TIME,
): Promise<string> {
  const principal = c.principal;
  const context: Record<string, string | string[]> = {
    ...known,
    ...req.context,
    'aws:RequestedRegion': c.region,
    'aws:SecureTransport': 'true',
    'aws:CurrentTime': NOW.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    'aws:EpochTime': String(NOW.getTime() / 1000),
    'aws:ViaAWSService': 'false',
    'aws:PrincipalArn': principal.arn,
    'aws:PrincipalAccount': principal.account,
    'aws:userid': principal.userId,
    ...(principal.username ? { 'aws:username': principal.username } : {}),
  };
  const named = (docs: PolicyDocument[], prefix: string) =>
    docs.map((policy, i) => ({ name: `${prefix}-${i}`, policy }));
  const result = await runSimulation(
    {
      request: {
        principal: principal.arn,
        action: req.action,
        resource: { resource: req.resource, accountId: ACCOUNT },
        contextVariables: context,
      },
      identityPolicies: named(c.identity, 'identity'),
      serviceControlPolicies: c.scps.map((level, l) => ({
        orgIdentifier: `level-${l}`,
        policies: named(level, `scp-${l}`),
      })),
      resourceControlPolicies: [],
      ...(c.boundary ? { permissionBoundaryPolicies: [{ name: 'boundary', policy: c.boundary }] } : {}),
    },
    { simulationMode: 'Strict' },
  );
  return result.resultType === 'error'
    ? `error: ${JSON.stringify(result.errors).slice(0, 300)}`
    : String(result.overallResult);
}

function ours(c: Case, req: TunnelRequest): string {
  const named = (docs: PolicyDocument[], prefix: string): NamedPolicy[] =>
    docs.map((document, i) => ({ name: `${prefix}-${i}`, document }));
  const d = evaluateStrict(
    {
      action: req.action,
      resource: req.resource,
      context: { ...REQUEST_TIME, ...req.context },
      principal: c.principal,
      region: c.region,
      now: NOW,
    },
    {
      identity: named(c.identity, 'identity'),
      scps: c.scps.map((level, l) => named(level, `scp-${l}`)),
      boundary: c.boundary ? { name: 'boundary', document: c.boundary } : undefined,
    },
  );
  return OURS[d.decision];
}

/** Ours, with aws:SourceIp not given: decided, or `depends` with its outcomes. */
function oursOpen(c: Case, req: TunnelRequest): string[] {
  const { 'aws:SourceIp': _ip, ...known } = REQUEST_TIME;
  const named = (docs: PolicyDocument[], prefix: string): NamedPolicy[] =>
    docs.map((document, i) => ({ name: `${prefix}-${i}`, document }));
  const d = evaluate(
    {
      action: req.action,
      resource: req.resource,
      context: { ...known, ...req.context },
      principal: c.principal,
      region: c.region,
      now: NOW,
    },
    {
      identity: named(c.identity, 'identity'),
      scps: c.scps.map((level, l) => named(level, `scp-${l}`)),
      boundary: c.boundary ? { name: 'boundary', document: c.boundary } : undefined,
    },
  );
  return d.decision === 'depends' ? d.outcomes.map((o) => OURS[o.result.decision]) : [OURS[d.decision]];
}

describe(`dbtunnel's evaluator against an independent simulator (seed ${SEED})`, () => {
  it(`agrees on ${CASES} generated policy sets, every request of a tunnel each`, async () => {
    const r = generator(SEED);
    const disagreements: string[] = [];
    let compared = 0;
    for (let i = 0; i < CASES; i++) {
      const c = generateCase(r);
      for (const req of requests(c.region, c.principal)) {
        const [a, b] = [ours(c, req), await theirs(c, req)];
        compared++;
        if (a !== b)
          disagreements.push(JSON.stringify({ case: i, request: req, ours: a, theirs: b, policies: c }, null, 1));
        // With aws:SourceIp unknown (policy check without --context): a decision that does not
        // hang on it is the simulator's for any address; one that does names its outcomes.
        if (JSON.stringify(c).includes('aws:SourceIp')) {
          const open = oursOpen(c, req);
          for (const ip of ['10.1.2.3', '203.0.113.9']) {
            const sure = await theirs(c, req, { ...REQUEST_TIME, 'aws:SourceIp': ip });
            compared++;
            if (!open.includes(sure))
              disagreements.push(
                JSON.stringify({ case: i, request: req, ip, ours: open, theirs: sure, policies: c }, null, 1),
              );
          }
        }
      }
    }
    if (process.env.IAM_DUMP)
      (await import('node:fs')).writeFileSync(process.env.IAM_DUMP, disagreements.join('\n===\n'));
    expect(compared).toBeGreaterThanOrEqual(CASES * 6);
    expect(disagreements.slice(0, 3), `${disagreements.length} of ${compared} decisions differ`).toEqual([]);
  }, 300_000);
});

describe('what AWS rejects in a policy, as the simulator does', () => {
  const rejects = async (statement: Statement) => {
    const r = await runSimulation(
      {
        request: {
          principal: USER.arn,
          action: 'ssm:StartSession',
          resource: { resource: `arn:aws:ec2:ap-northeast-1:${ACCOUNT}:instance/i-1`, accountId: ACCOUNT },
          contextVariables: {},
        },
        identityPolicies: [{ name: 'p', policy: { Version: '2012-10-17', Statement: [statement] } }],
        serviceControlPolicies: [],
        resourceControlPolicies: [],
      },
      { simulationMode: 'Strict' },
    );
    return r.resultType === 'error';
  };
  it.each([
    [{ Effect: 'Allow', Action: '*:StartSession', Resource: '*' }, true],
    [{ Effect: 'Allow', Action: 'ssm*:StartSession', Resource: '*' }, true],
    [{ Effect: 'Allow', Action: 'StartSession', Resource: '*' }, true],
    [{ Effect: 'Allow', Action: 'ssm:Start*', Resource: '*' }, false],
    [{ Effect: 'Allow', Action: 'SSM:startsession', Resource: '*' }, false],
    [{ Effect: 'Allow', Action: '*', Resource: 'arn:aws:ec2:*' }, false],
  ] as [Statement, boolean][])('%j: rejected %s', async (statement, rejected) => {
    expect(await rejects(statement)).toBe(rejected);
    expect(grammarProblems(statement, 0).length > 0).toBe(rejected);
  });

  it("a Resource that is neither * nor an ARN: IAM's policy grammar rejects it (the simulator does not check)", () => {
    expect(grammarProblems({ Effect: 'Allow', Action: '*', Resource: 'instance/*' }, 0)).toEqual([
      'Statement #1: Resource "instance/*" is neither "*" nor an ARN (arn:…).',
    ]);
  });
});
