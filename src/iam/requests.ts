// THE table: every IAM request a tunnel makes — action, resource, the context keys AWS evaluates,
// why it is needed, and the least-privilege statement that allows it. The denial explanation,
// `dbtunnel policy`, `policy check`, `doctor` and the test emulator all read it. Pure.
import { partitionOf } from '../arn.js';
import { type BastionQuery, PORT_FORWARDING_DOCUMENT } from '../model.js';
import type { ContextValue, PolicyDocument, Statement } from './evaluate.js';

export type RequestId =
  | 'find-bastion'
  | 'bastion-online'
  | 'start-session-on-bastion'
  | 'start-session-with-document'
  | 'terminate-session'
  | 'resume-session'
  | 'open-data-channel'
  | 'list-sessions'
  | NetworkRequestId;

/** The calls that look at the path from the bastion to a database (doctor, and a database that does not answer). */
type NetworkRequestId =
  | 'network-bastion'
  | 'network-interfaces'
  | 'network-security-groups'
  | 'network-subnets'
  | 'network-acls'
  | 'network-route-tables'
  | 'network-prefix-lists'
  | 'network-rds-instances'
  | 'network-rds-clusters'
  | 'reachability-analyzer';

/** What is known of the tunnel: from the config, and from AWS when it has been asked. */
export interface TunnelScope {
  region: string | undefined;
  /** The caller's (and bastion's) account, when known; `*` in policies otherwise. */
  account: string | undefined;
  bastion: BastionQuery;
  /** The bastion found, when a lookup has run. */
  instanceId?: string | undefined;
  /** Its tags as EC2 reported them (or as the config's query implies). */
  instanceTags?: Record<string, string> | undefined;
}

/** Who makes the requests: needed for session resources and policy variables. */
export interface Caller {
  arn: string;
  userId: string;
  /** IAM users only. */
  username?: string | undefined;
  account: string;
}

export interface ConcreteRequest {
  id: RequestId;
  action: string;
  resource: string;
  context: Record<string, ContextValue>;
  required: boolean;
  why: string;
}

interface Row {
  id: RequestId;
  action: string;
  why: string;
  /** Needed for every tunnel (else only for a feature, and said so). */
  required: (s: TunnelScope) => boolean;
  resource: (s: TunnelScope, partition: string, region: string, caller: Caller) => string;
  context: (s: TunnelScope, caller: Caller) => Record<string, ContextValue>;
  grant: (s: TunnelScope, partition: string) => Statement[];
}

/** The tags a bastion query asks for (what a tag condition must match). */
export function queryTags(q: BastionQuery): Record<string, string> {
  if (q.kind === 'name') return { Name: q.name };
  if (q.kind === 'tags') return q.tags;
  return {};
}

/** A session id starts with the caller's name: the IAM user name, or the role session name. */
export function sessionOwnerName(caller: Caller): string {
  return caller.username ?? caller.arn.split('/').at(-1)!;
}

function tagContext(tags: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(tags)) {
    out[`ssm:resourceTag/${k}`] = v;
    out[`aws:ResourceTag/${k}`] = v;
  }
  return out;
}

const sessionContext = (caller: Caller) => ({ 'ssm:resourceTag/aws:ssmmessages:session-id': caller.userId });

/** The caller's own sessions, for IAM users and for roles (docs/aws-facts.md §arns). */
function ownSessionStatements(partition: string, actions: string[]): Statement[] {
  return [
    {
      Sid: 'OwnSessionsAsIamUser',
      Effect: 'Allow',
      Action: actions,
      Resource: `arn:${partition}:ssm:*:*:session/\${aws:username}-*`,
    },
    {
      Sid: 'OwnSessionsAsRole',
      Effect: 'Allow',
      Action: actions,
      Resource: `arn:${partition}:ssm:*:*:session/*`,
      Condition: { StringLike: { 'ssm:resourceTag/aws:ssmmessages:session-id': '${aws:userid}' } },
    },
  ];
}

export function bastionStatement(s: TunnelScope, partition: string, tags?: Record<string, string>): Statement {
  const region = s.region ?? '*';
  const account = s.account ?? '*';
  if (s.bastion.kind === 'instance') {
    return {
      Sid: 'StartSessionOnTheBastion',
      Effect: 'Allow',
      Action: 'ssm:StartSession',
      Resource: `arn:${partition}:ec2:${region}:${account}:instance/${s.bastion.instanceId}`,
    };
  }
  const wanted = tags ?? queryTags(s.bastion);
  return {
    Sid: 'StartSessionOnTheBastion',
    Effect: 'Allow',
    Action: 'ssm:StartSession',
    Resource: `arn:${partition}:ec2:${region}:${account}:instance/*`,
    Condition: {
      StringEquals: Object.fromEntries(Object.entries(wanted).map(([k, v]) => [`ssm:resourceTag/${k}`, v])),
    },
  };
}

export function documentStatement(partition: string): Statement {
  return {
    Sid: 'StartSessionWithThePortForwardingDocument',
    Effect: 'Allow',
    Action: 'ssm:StartSession',
    // Never an account id: AWS-owned documents are evaluated with an empty account field.
    Resource: `arn:${partition}:ssm:*:*:document/${PORT_FORWARDING_DOCUMENT}`,
  };
}

const SESSION_ACTIONS = ['ssm:TerminateSession', 'ssm:ResumeSession', 'ssmmessages:OpenDataChannel'];

const sessionArn = (partition: string, region: string, s: TunnelScope, caller: Caller) =>
  `arn:${partition}:ssm:${region}:${s.account ?? caller.account}:session/${sessionOwnerName(caller)}-0123456789abcdef0`;

/**
 * One statement for every call of the network check: none of EC2's Describe calls takes a resource
 * (docs/aws-facts.md §network), and these read no data of the databases themselves.
 */
const NETWORK_STATEMENT: Statement = {
  Sid: 'LookAtTheNetworkPathToTheDatabase',
  Effect: 'Allow',
  Action: [
    'ec2:DescribeInstances',
    'ec2:DescribeNetworkInterfaces',
    'ec2:DescribeSecurityGroups',
    'ec2:DescribeSubnets',
    'ec2:DescribeNetworkAcls',
    'ec2:DescribeRouteTables',
    'ec2:GetManagedPrefixListEntries',
    'rds:DescribeDBInstances',
    'rds:DescribeDBClusters',
  ],
  Resource: '*',
};

const networkRow = (id: NetworkRequestId, action: string, why: string): Row => ({
  id,
  action,
  why: `network check: ${why}`,
  required: () => false,
  resource: () => '*',
  context: () => ({}),
  grant: () => [NETWORK_STATEMENT],
});

/**
 * `doctor --reachability`: AWS's analyzer, which also reads the network itself (AWS's managed policy
 * AmazonVPCReachabilityAnalyzerPathComponentReadPolicy grants what it reads).
 */
const REACHABILITY_STATEMENT: Statement = {
  Sid: 'AskReachabilityAnalyzer',
  Effect: 'Allow',
  Action: [
    'ec2:CreateNetworkInsightsPath',
    'ec2:StartNetworkInsightsAnalysis',
    'ec2:DescribeNetworkInsightsAnalyses',
    'ec2:DeleteNetworkInsightsAnalysis',
    'ec2:DeleteNetworkInsightsPath',
    'tiros:CreateQuery',
    'tiros:GetQueryAnswer',
    'tiros:GetQueryExplanation',
  ],
  Resource: '*',
};

export const TUNNEL_REQUESTS: readonly Row[] = [
  {
    id: 'find-bastion',
    action: 'ec2:DescribeInstances',
    why: 'find the bastion by its tags (DescribeInstances takes no resource-level permissions: "*")',
    required: (s) => s.bastion.kind !== 'instance',
    resource: () => '*',
    context: () => ({}),
    grant: () => [{ Sid: 'FindTheBastion', Effect: 'Allow', Action: 'ec2:DescribeInstances', Resource: '*' }],
  },
  {
    id: 'bastion-online',
    action: 'ssm:DescribeInstanceInformation',
    why: 'when several bastions match, prefer one Session Manager reports Online',
    required: () => false,
    resource: () => '*',
    context: () => ({}),
    grant: () => [
      {
        Sid: 'SeeWhichBastionIsOnline',
        Effect: 'Allow',
        Action: ['ssm:DescribeInstanceInformation', 'ssm:DescribeSessions'],
        Resource: '*',
      },
    ],
  },
  {
    id: 'start-session-on-bastion',
    action: 'ssm:StartSession',
    why: 'StartSession is authorized against the target instance…',
    required: () => true,
    resource: (s, p, region, caller) => {
      const id = s.instanceId ?? (s.bastion.kind === 'instance' ? s.bastion.instanceId : 'i-0123456789abcdef0');
      return `arn:${p}:ec2:${region}:${s.account ?? caller.account}:instance/${id}`;
    },
    context: (s) => tagContext(s.instanceTags ?? queryTags(s.bastion)),
    grant: (s, p) => [bastionStatement(s, p)],
  },
  {
    id: 'start-session-with-document',
    action: 'ssm:StartSession',
    why: '…and against the session document, which has no tags',
    required: () => true,
    resource: (_s, p, region) => `arn:${p}:ssm:${region}::document/${PORT_FORWARDING_DOCUMENT}`,
    context: () => ({}),
    grant: (_s, p) => [documentStatement(p)],
  },
  {
    id: 'terminate-session',
    action: 'ssm:TerminateSession',
    why: 'end the session when the tunnel closes',
    required: () => true,
    resource: (s, p, region, caller) => sessionArn(p, region, s, caller),
    context: (_s, caller) => sessionContext(caller),
    grant: (_s, p) => ownSessionStatements(p, SESSION_ACTIONS),
  },
  {
    id: 'resume-session',
    action: 'ssm:ResumeSession',
    why: 'let session-manager-plugin resume after a network drop',
    required: () => false,
    resource: (s, p, region, caller) => sessionArn(p, region, s, caller),
    context: (_s, caller) => sessionContext(caller),
    grant: (_s, p) => ownSessionStatements(p, SESSION_ACTIONS),
  },
  {
    id: 'open-data-channel',
    action: 'ssmmessages:OpenDataChannel',
    why: 'session-manager-plugin 1.2.764.0 and newer sign the data channel it opens',
    required: () => true,
    resource: (s, p, region, caller) => sessionArn(p, region, s, caller),
    context: (_s, caller) => sessionContext(caller),
    grant: (_s, p) => ownSessionStatements(p, SESSION_ACTIONS),
  },
  {
    id: 'list-sessions',
    action: 'ssm:DescribeSessions',
    why: 'list your own sessions (dbtunnel sessions)',
    required: () => false,
    resource: () => '*',
    context: () => ({}),
    grant: () => [
      {
        Sid: 'SeeWhichBastionIsOnline',
        Effect: 'Allow',
        Action: ['ssm:DescribeInstanceInformation', 'ssm:DescribeSessions'],
        Resource: '*',
      },
    ],
  },
  networkRow('network-bastion', 'ec2:DescribeInstances', "the bastion's address, subnet and security groups"),
  networkRow('network-interfaces', 'ec2:DescribeNetworkInterfaces', "the database's network interface, by its address"),
  networkRow('network-security-groups', 'ec2:DescribeSecurityGroups', "the rules of both ends' security groups"),
  networkRow('network-subnets', 'ec2:DescribeSubnets', 'the address ranges of both subnets'),
  networkRow('network-acls', 'ec2:DescribeNetworkAcls', 'the network ACLs of both subnets'),
  networkRow('network-route-tables', 'ec2:DescribeRouteTables', 'the routes there and back'),
  networkRow('network-prefix-lists', 'ec2:GetManagedPrefixListEntries', 'the entries of prefix lists that rules name'),
  networkRow('network-rds-instances', 'rds:DescribeDBInstances', "an RDS database's status, port and groups"),
  networkRow('network-rds-clusters', 'rds:DescribeDBClusters', "an Aurora cluster's status, port and groups"),
  {
    id: 'reachability-analyzer',
    action: 'ec2:CreateNetworkInsightsPath',
    why: 'doctor --reachability: AWS Reachability Analyzer as a second opinion (paid, per analysis)',
    required: () => false,
    resource: () => '*',
    context: () => ({}),
    grant: () => [REACHABILITY_STATEMENT],
  },
];

/** The concrete requests a tunnel makes, for evaluation. */
export function tunnelRequests(s: TunnelScope, caller: Caller): ConcreteRequest[] {
  const region = s.region ?? 'us-east-1';
  const partition = partitionOf(region);
  return TUNNEL_REQUESTS.map((row) => ({
    id: row.id,
    action: row.action,
    resource: row.resource(s, partition, region, caller),
    context: row.context(s, caller),
    required: row.required(s),
    why: row.why,
  }));
}

/**
 * The statements that allow one request. Knowing the caller (an IAM user or a role) keeps only the
 * own-sessions statement that fits it.
 */
export function grantFor(id: RequestId, s: TunnelScope, callerArn?: string): Statement[] {
  const partition = partitionOf(s.region ?? 'us-east-1');
  const all = TUNNEL_REQUESTS.find((r) => r.id === id)!.grant(s, partition);
  if (!callerArn) return all;
  const unfit = /:assumed-role\//.test(callerArn)
    ? 'OwnSessionsAsIamUser'
    : /:user\//.test(callerArn)
      ? 'OwnSessionsAsRole'
      : undefined;
  return all.filter((st) => st.Sid !== unfit);
}

/** The least-privilege identity policy for tunnels of one or more scopes (statements merged by Sid). */
export function leastPrivilegePolicy(scopes: TunnelScope[]): PolicyDocument {
  const bySid = new Map<string, Statement>();
  const add = (st: Statement) => {
    const key = st.Sid ?? JSON.stringify(st);
    const have = bySid.get(key);
    if (!have) {
      bySid.set(key, structuredClone(st));
      return;
    }
    // Same Sid, same shape: widen Resource (e.g. bastions of several environments).
    const resources = new Set([...[have.Resource ?? []].flat(), ...[st.Resource ?? []].flat()]);
    if (JSON.stringify(have.Condition) === JSON.stringify(st.Condition)) {
      have.Resource = resources.size === 1 ? [...resources][0]! : [...resources];
    } else {
      bySid.set(`${key}${bySid.size}`, {
        ...structuredClone(st),
        Sid: `${key}${[...bySid.keys()].filter((k) => k.startsWith(key)).length + 1}`,
      });
    }
  };
  for (const s of scopes) {
    const partition = partitionOf(s.region ?? 'us-east-1');
    for (const row of TUNNEL_REQUESTS) {
      if (row.id === 'find-bastion' && s.bastion.kind === 'instance') continue;
      for (const st of row.grant(s, partition)) add(st);
    }
  }
  return { Version: '2012-10-17', Statement: [...bySid.values()] };
}
