// The path of a tunnel's TCP connection, from the bastion's private address to the database's address
// and port, hop by hop: the bastion's security groups (out), the database's (in), the network ACL of
// each subnet (both ways, for they are stateless), the route there and the route back, and the
// database itself (RDS). Each hop says what it checked, whether it lets the connection through, why,
// and the AWS CLI command that opens it. The network twin of src/iam/evaluate.ts. Pure.
import type { BastionPlace, DatabasePlace, NetworkAcl, RouteTable, SecurityGroup, VpcFacts } from '../vpc.js';
import {
  aclDecides,
  describeEntry,
  EPHEMERAL_PORTS,
  freeRuleNumberBefore,
  LINUX_EPHEMERAL_PORTS,
  type AclOutcome,
} from './acls.js';
import { cidrRange, formatAddresses, formatPorts, overlaps, parseIpv4, single, type Range } from './ranges.js';
import { chooseRoutes, describeTarget, leadsToAnotherNetwork, routeTableFor, type RouteChoice } from './routes.js';
import { groupsAllow, type GroupVerdict, type Precision } from './security-groups.js';

export type HopVerdict = 'open' | 'blocked' | 'partly' | 'unknown';

export const HOP_STEPS = [
  'bastion security groups',
  'database security groups',
  'bastion subnet network ACL',
  'database subnet network ACL',
  'route to the database',
  'route back',
  'database',
] as const;
export type HopStep = (typeof HOP_STEPS)[number];

export interface Hop {
  step: HopStep;
  /** The resources checked (ids). */
  resources: string[];
  verdict: HopVerdict;
  why: string;
  /** The AWS CLI command that opens this hop (words, without --region/--profile). */
  fix?: string[] | undefined;
  /** What to do when it is not a command. */
  advice?: string | undefined;
  /** The database listens on another port than the config's: the other hops were judged for the wrong one. */
  wrongPort?: boolean | undefined;
}

export interface PathFinding {
  bastion: BastionPlace;
  database: DatabasePlace;
  hops: Hop[];
  /** The first hop that blocks the connection (or may: partly), if any. */
  blocking: Hop | undefined;
  /** What could not be checked, and why. */
  limits: string[];
}

/** RDS statuses in which the database does not take connections. */
const DOWN_STATUSES = new Set([
  'stopped',
  'stopping',
  'starting',
  'creating',
  'deleting',
  'failed',
  'rebooting',
  'inaccessible-encryption-credentials',
  'inaccessible-encryption-credentials-recoverable',
  'incompatible-network',
  'incompatible-restore',
  'restore-error',
  'storage-full',
]);

/** Where the database may be: one address, or each subnet it may be in, or anywhere. */
interface Placement {
  addresses: Range;
  precision: Precision;
  subnetId: string | undefined;
  /** Its address as a CIDR for a rule that names it. */
  cidr: string | undefined;
}

function placements(d: DatabasePlace, facts: VpcFacts): Placement[] {
  const ip = d.ip ? parseIpv4(d.ip) : undefined;
  if (ip !== undefined)
    return [{ addresses: single(ip), precision: 'address', subnetId: d.subnetIds[0], cidr: `${d.ip}/32` }];
  const subnets = d.subnetIds.flatMap((id) => {
    const s = facts.subnets?.find((x) => x.id === id);
    const range = s && cidrRange(s.cidr);
    return s && range ? [{ addresses: range, precision: 'subnet' as const, subnetId: id, cidr: s.cidr }] : [];
  });
  if (subnets.length > 0) return subnets;
  return [{ addresses: [0, 2 ** 32 - 1], precision: 'none', subnetId: d.subnetIds[0], cidr: undefined }];
}

export function evaluatePath(bastion: BastionPlace, database: DatabasePlace, facts: VpcFacts): PathFinding {
  const limits: string[] = [];
  if (database.found === 'unresolved') {
    limits.push(
      `${database.host} does not resolve here (a private hosted zone?): ` +
        'only the checks that need no address were made.',
    );
  } else if (!database.vpcId) {
    limits.push(
      `No network interface in this account and region has ${database.ip ?? database.host}: ` +
        "the database's security groups, network ACL and routes back are unknown.",
    );
  } else if (!database.ip && database.found.startsWith('rds')) {
    limits.push(
      `${database.host} does not resolve here, so the database's address is only known to be in ` +
        `its subnet group (${database.subnetIds.join(', ')}).`,
    );
  }
  limits.push(...(database.notes ?? []), ...Object.values(facts.notDescribed));

  const runs = placements(database, facts).map((p) => hopsFor(bastion, database, facts, p));
  const hops = runs[0]!.map((_, i) => merge(runs.map((r) => r[i]!)));
  return {
    bastion,
    database,
    hops,
    blocking:
      // A port that is not the database's makes every other hop's finding about the wrong port.
      hops.find((h) => h.wrongPort) ??
      hops.find((h) => h.verdict === 'blocked') ??
      hops.find((h) => h.verdict === 'partly'),
    limits,
  };
}

/** One hop over every place the database may be: the same everywhere, or "depends". */
function merge(hops: Hop[]): Hop {
  const first = hops[0]!;
  if (hops.every((h) => h.verdict === first.verdict)) return first;
  const worst = hops.find((h) => h.verdict === 'blocked') ?? hops.find((h) => h.verdict !== 'open') ?? first;
  return {
    ...worst,
    resources: [...new Set(hops.flatMap((h) => h.resources))],
    verdict: 'partly',
    why: `It depends on the subnet the database is in. ${worst.why}`,
  };
}

function hopsFor(b: BastionPlace, d: DatabasePlace, facts: VpcFacts, place: Placement): Hop[] {
  const hops = [
    bastionGroups(b, d, facts, place),
    databaseGroups(b, d, facts),
    bastionAcl(b, d, facts, place),
    databaseAcl(b, d, facts, place),
    routeThere(b, d, facts, place),
    routeBack(b, d, facts, place),
  ];
  const db = databaseItself(d);
  return db ? [...hops, db] : hops;
}

function groupsOf(ids: readonly string[], facts: VpcFacts): SecurityGroup[] | undefined {
  return facts.securityGroups?.filter((g) => ids.includes(g.id));
}

function notKnown(step: HopStep, resources: string[], why: string): Hop {
  return { step, resources, verdict: 'unknown', why };
}

const fromGroups = (step: HopStep, resources: string[], v: GroupVerdict): Hop => ({
  step,
  resources,
  verdict: v.verdict,
  why: v.why,
});

function bastionGroups(b: BastionPlace, d: DatabasePlace, facts: VpcFacts, place: Placement): Hop {
  const step = 'bastion security groups';
  const groups = groupsOf(b.groupIds, facts);
  if (!groups) return notKnown(step, b.groupIds, facts.notDescribed.securityGroups ?? 'not described');
  const v = groupsAllow(
    groups,
    'outbound',
    d.port,
    { addresses: place.addresses, precision: place.precision, groupIds: d.groupIds, label: 'the database' },
    facts.prefixLists,
  );
  const hop = fromGroups(step, b.groupIds, v);
  if (v.verdict === 'open' || v.verdict === 'unknown' || !b.groupIds[0]) return hop;
  const remote = d.groupIds?.[0]
    ? `UserIdGroupPairs=[{GroupId=${d.groupIds[0]}}]`
    : place.cidr
      ? `IpRanges=[{CidrIp=${place.cidr}}]`
      : undefined;
  return remote
    ? {
        ...hop,
        fix: [
          'aws',
          'ec2',
          'authorize-security-group-egress',
          '--group-id',
          b.groupIds[0],
          '--ip-permissions',
          `IpProtocol=tcp,FromPort=${d.port},ToPort=${d.port},${remote}`,
        ],
      }
    : hop;
}

function databaseGroups(b: BastionPlace, d: DatabasePlace, facts: VpcFacts): Hop {
  const step = 'database security groups';
  if (!d.groupIds) return notKnown(step, [], "the database's security groups are unknown");
  const groups = groupsOf(d.groupIds, facts);
  if (!groups) return notKnown(step, d.groupIds, facts.notDescribed.securityGroups ?? 'not described');
  const ip = parseIpv4(b.privateIp)!;
  const v = groupsAllow(
    groups,
    'inbound',
    d.port,
    { addresses: single(ip), precision: 'address', groupIds: b.groupIds, label: 'the bastion' },
    facts.prefixLists,
  );
  const hop = fromGroups(step, d.groupIds, v);
  if (v.verdict !== 'blocked' || !d.groupIds[0]) return hop;
  const source = b.groupIds[0] ? ['--source-group', b.groupIds[0]] : ['--cidr', `${b.privateIp}/32`];
  return {
    ...hop,
    fix: [
      'aws',
      'ec2',
      'authorize-security-group-ingress',
      '--group-id',
      d.groupIds[0],
      '--protocol',
      'tcp',
      '--port',
      String(d.port),
      ...source,
    ],
  };
}

interface AclLeg {
  /** "outbound tcp 3306 to 10.0.2.15". */
  what: string;
  egress: boolean;
  ports: Range;
  outcome: AclOutcome;
  /** The other end as a CIDR, for the fix. */
  remoteCidr: string | undefined;
  reply: boolean;
}

function judgeAcl(step: HopStep, acl: NetworkAcl, subnetId: string, legs: AclLeg[], precision: Precision): Hop {
  const resources = [acl.id, subnetId];
  const where = `${acl.id} (subnet ${subnetId})`;
  for (const leg of legs) {
    // Replies go to the port the bastion picked, which a Linux bastion picks from 32768-60999: a
    // reply rule narrower than AWS's advice (1024-65535) still works if it holds those.
    const judged = leg.reply
      ? leg.outcome.cells.filter((c) => overlaps(c.ports, LINUX_EPHEMERAL_PORTS))
      : leg.outcome.cells;
    const denied = judged.filter((c) => !c.allowed);
    if (denied.length === 0) continue;
    const allowedSome = denied.length < judged.length;
    const first = denied[0]!;
    // A request has one port, so a mixed outcome is about addresses: the database's is not known.
    const verdict: HopVerdict = !allowedSome ? 'blocked' : !leg.reply && precision !== 'subnet' ? 'unknown' : 'partly';
    const part = allowedSome ? ` for ${formatAddresses(first.addresses)} port ${formatPorts(first.ports)}` : '';
    const why = `${where} denies ${leg.what}${part}: ${describeEntry(first.entry)}.`;
    return { step, resources, verdict, why, ...aclFix(acl, leg, first.entry) };
  }
  const legsText = legs.map((l) => l.what).join(', and ');
  return { step, resources, verdict: 'open', why: `${where} allows ${legsText}.` };
}

function aclFix(acl: NetworkAcl, leg: AclLeg, denying: AclOutcome['cells'][number]['entry']) {
  if (!leg.remoteCidr) return {};
  const free = freeRuleNumberBefore(acl, leg.egress, denying);
  const words = (verb: string, n: number) => [
    'aws',
    'ec2',
    verb,
    '--network-acl-id',
    acl.id,
    leg.egress ? '--egress' : '--ingress',
    '--rule-number',
    String(n),
    '--protocol',
    'tcp',
    '--port-range',
    `From=${leg.ports[0]},To=${leg.ports[1]}`,
    '--cidr-block',
    leg.remoteCidr!,
    '--rule-action',
    'allow',
  ];
  if (free !== undefined) return { fix: words('create-network-acl-entry', free) };
  // No free number before the deny: it is the one to change.
  return denying ? { fix: words('replace-network-acl-entry', denying.ruleNumber) } : {};
}

function aclOf(subnetId: string, facts: VpcFacts): NetworkAcl | undefined {
  return facts.networkAcls?.find((a) => a.subnetIds.includes(subnetId));
}

const sameSubnet = (b: BastionPlace, place: Placement) => place.subnetId === b.subnetId;
const SAME_SUBNET = 'The bastion and the database share a subnet: network ACLs filter only what enters or leaves one.';

function subnetCidr(subnetId: string | undefined, facts: VpcFacts): string | undefined {
  return facts.subnets?.find((s) => s.id === subnetId)?.cidr;
}

function bastionAcl(b: BastionPlace, d: DatabasePlace, facts: VpcFacts, place: Placement): Hop {
  const step = 'bastion subnet network ACL';
  if (sameSubnet(b, place)) return { step, resources: [], verdict: 'open', why: SAME_SUBNET };
  const acl = aclOf(b.subnetId, facts);
  if (!acl) return notKnown(step, [b.subnetId], facts.notDescribed.networkAcls ?? `no network ACL of ${b.subnetId}`);
  const there = formatAddresses(place.addresses);
  return judgeAcl(
    step,
    acl,
    b.subnetId,
    [
      {
        what: `outbound tcp ${d.port} to ${there}`,
        egress: true,
        ports: [d.port, d.port],
        outcome: aclDecides(acl, true, place.addresses, [d.port, d.port]),
        remoteCidr: place.cidr,
        reply: false,
      },
      {
        what: `inbound replies from ${there} on ${formatPorts(EPHEMERAL_PORTS)}`,
        egress: false,
        ports: EPHEMERAL_PORTS,
        outcome: aclDecides(acl, false, place.addresses, EPHEMERAL_PORTS),
        remoteCidr: place.cidr,
        reply: true,
      },
    ],
    place.precision,
  );
}

function databaseAcl(b: BastionPlace, d: DatabasePlace, facts: VpcFacts, place: Placement): Hop {
  const step = 'database subnet network ACL';
  if (sameSubnet(b, place)) return { step, resources: [], verdict: 'open', why: SAME_SUBNET };
  if (!place.subnetId) return notKnown(step, [], "the database's subnet is unknown");
  const acl = aclOf(place.subnetId, facts);
  if (!acl) {
    return notKnown(step, [place.subnetId], facts.notDescribed.networkAcls ?? `no network ACL of ${place.subnetId}`);
  }
  const bastion = single(parseIpv4(b.privateIp)!);
  const bastionCidr = subnetCidr(b.subnetId, facts) ?? `${b.privateIp}/32`;
  return judgeAcl(
    step,
    acl,
    place.subnetId,
    [
      {
        what: `inbound tcp ${d.port} from ${b.privateIp}`,
        egress: false,
        ports: [d.port, d.port],
        outcome: aclDecides(acl, false, bastion, [d.port, d.port]),
        remoteCidr: bastionCidr,
        reply: false,
      },
      {
        what: `outbound replies to ${b.privateIp} on ${formatPorts(EPHEMERAL_PORTS)}`,
        egress: true,
        ports: EPHEMERAL_PORTS,
        outcome: aclDecides(acl, true, bastion, EPHEMERAL_PORTS),
        remoteCidr: bastionCidr,
        reply: true,
      },
    ],
    'address',
  );
}

interface RouteLeg {
  step: HopStep;
  table: RouteTable;
  choices: RouteChoice[];
  /** The VPC of each end: where the traffic comes from and where it goes. */
  fromVpc: string;
  toVpc: string | undefined;
  /** The destination, as a CIDR for a route that would carry it. */
  destinationCidr: string | undefined;
  /** A route the other way that goes to another network: its target is the way to come back. */
  otherWay: string | undefined;
  precision: Precision;
}

function judgeRoutes(leg: RouteLeg): Hop {
  const { table, step } = leg;
  const resources = [table.id];
  const verdicts = leg.choices.map((c) => judgeRoute(leg, c));
  const bad = verdicts.find((v) => v.verdict !== 'open');
  if (!bad) return { step, resources, verdict: 'open', why: verdicts[0]!.why };
  const some = verdicts.some((v) => v.verdict === 'open');
  const verdict: HopVerdict = some ? (leg.precision === 'subnet' ? 'partly' : 'unknown') : bad.verdict;
  return { step, resources, ...bad, verdict };
}

function judgeRoute(leg: RouteLeg, c: RouteChoice): Omit<Hop, 'step' | 'resources'> {
  const where = `${leg.table.id}`;
  const to = formatAddresses(c.addresses);
  const unsure = c.unknownPrefixList ? ` (the entries of ${c.unknownPrefixList} are unknown)` : '';
  const sameVpc = leg.toVpc === undefined || leg.toVpc === leg.fromVpc;
  if (!c.route) {
    const fix =
      leg.otherWay && leg.destinationCidr ? createRoute(leg.table.id, leg.destinationCidr, leg.otherWay) : undefined;
    return {
      verdict: 'blocked',
      why: `No route in ${where} covers ${to}${unsure}.`,
      ...(fix
        ? { fix }
        : {
            advice:
              `The VPCs ${leg.fromVpc} and ${leg.toVpc ?? '(unknown)'} need a peering connection or a ` +
              'transit gateway, and a route each way.',
          }),
    };
  }
  const target = describeTarget(c.route.target);
  if (c.route.state === 'blackhole') {
    return {
      verdict: 'blocked',
      why: `${where} sends ${to} to ${target}, which no longer exists (a blackhole route).`,
      ...(leg.destinationCidr && leg.otherWay
        ? { fix: replaceRoute(leg.table.id, leg.destinationCidr, leg.otherWay) }
        : {}),
    };
  }
  if (c.route.target === 'local') {
    return sameVpc
      ? { verdict: 'open', why: `${where} keeps ${to} inside ${leg.fromVpc} (local).` }
      : {
          verdict: 'blocked',
          why:
            `${where} takes ${to} for ${leg.fromVpc}'s own range (local), but it is in ${leg.toVpc}: ` +
            'the two VPCs overlap, and overlapping VPCs cannot reach each other.',
        };
  }
  if (leadsToAnotherNetwork(c.route.target)) {
    return sameVpc
      ? { verdict: 'unknown', why: `${where} sends ${to} out of the VPC to ${target}, though it is in the same VPC.` }
      : { verdict: 'open', why: `${where} sends ${to} to ${target}${unsure}.` };
  }
  if (/^(igw|eigw|nat|cagw)-/.test(c.route.target)) {
    return {
      verdict: 'blocked',
      why: `${where} sends ${to} to the ${target}: a private address is not reached that way${unsure}.`,
      ...(leg.destinationCidr && leg.otherWay
        ? { fix: createRoute(leg.table.id, leg.destinationCidr, leg.otherWay) }
        : {}),
    };
  }
  return {
    verdict: 'unknown',
    why: `${where} sends ${to} through ${target}: what that appliance lets through is not checked.`,
  };
}

function targetOption(target: string): string[] {
  if (target.startsWith('pcx-')) return ['--vpc-peering-connection-id', target];
  if (target.startsWith('tgw-')) return ['--transit-gateway-id', target];
  return ['--gateway-id', target];
}

const createRoute = (table: string, cidr: string, target: string) => [
  'aws',
  'ec2',
  'create-route',
  '--route-table-id',
  table,
  '--destination-cidr-block',
  cidr,
  ...targetOption(target),
];

const replaceRoute = (table: string, cidr: string, target: string) => [
  'aws',
  'ec2',
  'replace-route',
  '--route-table-id',
  table,
  '--destination-cidr-block',
  cidr,
  ...targetOption(target),
];

/** The other-network target of the route that carries `to` in `table`, if any. */
function wayOut(table: RouteTable | undefined, to: Range, facts: VpcFacts): string | undefined {
  if (!table) return undefined;
  return chooseRoutes(table, to, facts.prefixLists).find(
    (c) => c.route && c.route.state === 'active' && leadsToAnotherNetwork(c.route.target),
  )?.route?.target;
}

function routeThere(b: BastionPlace, d: DatabasePlace, facts: VpcFacts, place: Placement): Hop {
  const step = 'route to the database';
  if (!facts.routeTables) return notKnown(step, [], facts.notDescribed.routeTables ?? 'not described');
  const table = routeTableFor(b.subnetId, b.vpcId, facts.routeTables);
  if (!table) return notKnown(step, [b.subnetId], `no route table of ${b.subnetId} or ${b.vpcId}`);
  const back = place.subnetId ? routeTableFor(place.subnetId, d.vpcId, facts.routeTables) : undefined;
  return judgeRoutes({
    step,
    table,
    choices: chooseRoutes(table, place.addresses, facts.prefixLists),
    fromVpc: b.vpcId,
    toVpc: d.vpcId,
    destinationCidr: subnetCidr(place.subnetId, facts) ?? place.cidr,
    otherWay: wayOut(back, single(parseIpv4(b.privateIp)!), facts),
    precision: place.precision,
  });
}

function routeBack(b: BastionPlace, d: DatabasePlace, facts: VpcFacts, place: Placement): Hop {
  const step = 'route back';
  if (!facts.routeTables) return notKnown(step, [], facts.notDescribed.routeTables ?? 'not described');
  if (!place.subnetId || !d.vpcId) return notKnown(step, [], "the database's subnet is unknown");
  const table = routeTableFor(place.subnetId, d.vpcId, facts.routeTables);
  if (!table) return notKnown(step, [place.subnetId], `no route table of ${place.subnetId} or ${d.vpcId}`);
  const there = routeTableFor(b.subnetId, b.vpcId, facts.routeTables);
  return judgeRoutes({
    step,
    table,
    choices: chooseRoutes(table, single(parseIpv4(b.privateIp)!), facts.prefixLists),
    fromVpc: d.vpcId,
    toVpc: b.vpcId,
    destinationCidr: subnetCidr(b.subnetId, facts) ?? `${b.privateIp}/32`,
    otherWay: wayOut(there, place.addresses, facts),
    precision: 'address',
  });
}

function databaseItself(d: DatabasePlace): Hop | undefined {
  if (!d.rds) return undefined;
  const step = 'database';
  const { id, status, port } = d.rds;
  const cluster = d.found === 'rds-cluster';
  const what = `${cluster ? 'cluster' : 'instance'} ${id}`;
  const down = DOWN_STATUSES.has(status);
  const membersUp = d.rds.members?.filter((m) => m.status === 'available');
  if (down || (cluster && d.rds.members && membersUp!.length === 0)) {
    const why = down
      ? `The RDS ${what} is ${status}.`
      : `No instance of the RDS ${what} is available (${d.rds.members!.map((m) => `${m.id} ${m.status}`).join(', ')}).`;
    const start =
      status === 'stopped'
        ? [
            'aws',
            'rds',
            cluster ? 'start-db-cluster' : 'start-db-instance',
            cluster ? '--db-cluster-identifier' : '--db-instance-identifier',
            id,
          ]
        : undefined;
    return {
      step,
      resources: [id],
      verdict: 'blocked',
      why,
      ...(start ? { fix: start } : { advice: 'Wait until it is available, or see its events in the RDS console.' }),
    };
  }
  if (port !== undefined && port !== d.port) {
    return {
      step,
      resources: [id],
      verdict: 'blocked',
      why: `The config says port ${d.port}, but the RDS ${what} listens on ${port}.`,
      wrongPort: true,
      advice: `Set \`port: ${port}\` for this database in the config.`,
    };
  }
  return { step, resources: [id], verdict: 'open', why: `The RDS ${what} is ${status}, on port ${port ?? d.port}.` };
}
