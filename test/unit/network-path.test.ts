// The path evaluator, rule by rule of AWS's semantics (docs/network-path.md): each row starts from an
// open path — a bastion and a database in one VPC, or in two peered ones — changes one thing, and says
// which hop it decides and how.
import { describe, expect, it } from 'vitest';
import { commandLine } from '../../src/shell-quote.js';
import { cells, cidrRange, formatAddresses } from '../../src/network/ranges.js';
import { evaluatePath, type HopStep, type HopVerdict } from '../../src/network/path.js';
import type { BastionPlace, DatabasePlace, NetworkAclEntry, SecurityGroupRule, VpcFacts } from '../../src/vpc.js';

const rule = (r: Partial<SecurityGroupRule>): SecurityGroupRule => ({
  protocol: 'tcp',
  fromPort: 3306,
  toPort: 3306,
  cidrs: [],
  groupIds: [],
  prefixListIds: [],
  ...r,
});
const ALL_OUT = rule({ protocol: '-1', fromPort: undefined, toPort: undefined, cidrs: ['0.0.0.0/0'] });
const entry = (e: Partial<NetworkAclEntry>): NetworkAclEntry => ({
  ruleNumber: 100,
  egress: false,
  action: 'allow',
  protocol: '-1',
  cidr: '0.0.0.0/0',
  ...e,
});
const OPEN_ACL = [entry({ egress: false }), entry({ egress: true })];

interface World {
  bastion: BastionPlace;
  database: DatabasePlace;
  facts: VpcFacts;
}

/** One VPC (10.0.0.0/16): the bastion in subnet-a (10.0.1.0/24), the database in subnet-b (10.0.2.0/24). */
function oneVpc(): World {
  return {
    bastion: {
      instanceId: 'i-b',
      privateIp: '10.0.1.10',
      subnetId: 'subnet-a',
      vpcId: 'vpc-1',
      groupIds: ['sg-bastion'],
    },
    database: {
      host: 'mydb.internal',
      port: 3306,
      found: 'network-interface',
      ip: '10.0.2.20',
      networkInterfaceId: 'eni-db',
      subnetIds: ['subnet-b'],
      vpcId: 'vpc-1',
      groupIds: ['sg-db'],
    },
    facts: {
      securityGroups: [
        { id: 'sg-bastion', name: 'bastion', vpcId: 'vpc-1', inbound: [], outbound: [ALL_OUT] },
        { id: 'sg-db', name: 'db', vpcId: 'vpc-1', inbound: [rule({ groupIds: ['sg-bastion'] })], outbound: [ALL_OUT] },
      ],
      networkAcls: [
        { id: 'acl-a', vpcId: 'vpc-1', isDefault: false, subnetIds: ['subnet-a'], entries: [...OPEN_ACL] },
        { id: 'acl-b', vpcId: 'vpc-1', isDefault: false, subnetIds: ['subnet-b'], entries: [...OPEN_ACL] },
      ],
      routeTables: [
        {
          id: 'rtb-main',
          vpcId: 'vpc-1',
          main: true,
          subnetIds: [],
          routes: [{ destination: { cidr: '10.0.0.0/16' }, target: 'local', state: 'active' }],
        },
      ],
      subnets: [
        { id: 'subnet-a', vpcId: 'vpc-1', cidr: '10.0.1.0/24' },
        { id: 'subnet-b', vpcId: 'vpc-1', cidr: '10.0.2.0/24' },
      ],
      prefixLists: {},
      notDescribed: {},
    },
  };
}

/** Two VPCs peered by pcx-1: the database in vpc-2 (10.1.0.0/16), subnet-c (10.1.2.0/24). */
function peered(): World {
  const w = oneVpc();
  w.database = { ...w.database, ip: '10.1.2.20', subnetIds: ['subnet-c'], vpcId: 'vpc-2' };
  const f = w.facts;
  f.securityGroups![1]!.vpcId = 'vpc-2';
  f.networkAcls![1] = { id: 'acl-c', vpcId: 'vpc-2', isDefault: true, subnetIds: ['subnet-c'], entries: [...OPEN_ACL] };
  f.subnets!.push({ id: 'subnet-c', vpcId: 'vpc-2', cidr: '10.1.2.0/24' });
  f.routeTables = [
    {
      id: 'rtb-1',
      vpcId: 'vpc-1',
      main: true,
      subnetIds: [],
      routes: [
        { destination: { cidr: '10.0.0.0/16' }, target: 'local', state: 'active' },
        { destination: { cidr: '10.1.0.0/16' }, target: 'pcx-1', state: 'active' },
      ],
    },
    {
      id: 'rtb-2',
      vpcId: 'vpc-2',
      main: true,
      subnetIds: [],
      routes: [
        { destination: { cidr: '10.1.0.0/16' }, target: 'local', state: 'active' },
        { destination: { cidr: '10.0.0.0/16' }, target: 'pcx-1', state: 'active' },
      ],
    },
  ];
  return w;
}

const sg = (w: World, id: string) => w.facts.securityGroups!.find((g) => g.id === id)!;
const acl = (w: World, id: string) => w.facts.networkAcls!.find((a) => a.id === id)!;
const rtb = (w: World, id: string) => w.facts.routeTables!.find((t) => t.id === id)!;

interface Row {
  name: string;
  world: () => World;
  change: (w: World) => void;
  step: HopStep;
  verdict: HopVerdict;
  why?: RegExp;
  fix?: string;
  advice?: RegExp;
}

const rows: Row[] = [
  // Security groups (§security groups)
  {
    name: 'the database allows the bastion by its group: open',
    world: oneVpc,
    change: () => {},
    step: 'database security groups',
    verdict: 'open',
    why: /sg-db allows tcp 3306 from sg-bastion/,
  },
  {
    name: 'no inbound rule on the database: blocked, with the ingress rule that fixes it',
    world: oneVpc,
    change: (w) => {
      sg(w, 'sg-db').inbound = [];
    },
    step: 'database security groups',
    verdict: 'blocked',
    fix: 'aws ec2 authorize-security-group-ingress --group-id sg-db --protocol tcp --port 3306 --source-group sg-bastion',
  },
  {
    name: "a CIDR holding the bastion's address lets it in",
    world: oneVpc,
    change: (w) => {
      sg(w, 'sg-db').inbound = [rule({ cidrs: ['10.0.0.0/20'] })];
    },
    step: 'database security groups',
    verdict: 'open',
    why: /from 10\.0\.0\.0\/20/,
  },
  {
    name: "a CIDR without the bastion's address does not",
    world: oneVpc,
    change: (w) => {
      sg(w, 'sg-db').inbound = [rule({ cidrs: ['10.0.3.0/24'] })];
    },
    step: 'database security groups',
    verdict: 'blocked',
  },
  {
    name: 'a port range that leaves out the database port does not',
    world: oneVpc,
    change: (w) => {
      sg(w, 'sg-db').inbound = [rule({ fromPort: 3307, toPort: 3310, groupIds: ['sg-bastion'] })];
    },
    step: 'database security groups',
    verdict: 'blocked',
  },
  {
    name: 'a port range that holds it does',
    world: oneVpc,
    change: (w) => {
      sg(w, 'sg-db').inbound = [rule({ fromPort: 3000, toPort: 4000, groupIds: ['sg-bastion'] })];
    },
    step: 'database security groups',
    verdict: 'open',
  },
  {
    name: 'protocol -1 is every protocol and every port',
    world: oneVpc,
    change: (w) => {
      sg(w, 'sg-db').inbound = [rule({ protocol: '-1', fromPort: -1, toPort: -1, groupIds: ['sg-bastion'] })];
    },
    step: 'database security groups',
    verdict: 'open',
    why: /all traffic/,
  },
  {
    name: 'protocol 6 is TCP',
    world: oneVpc,
    change: (w) => {
      sg(w, 'sg-db').inbound = [rule({ protocol: '6', groupIds: ['sg-bastion'] })];
    },
    step: 'database security groups',
    verdict: 'open',
  },
  {
    name: 'UDP is not TCP',
    world: oneVpc,
    change: (w) => {
      sg(w, 'sg-db').inbound = [rule({ protocol: 'udp', groupIds: ['sg-bastion'] })];
    },
    step: 'database security groups',
    verdict: 'blocked',
  },
  {
    name: "a prefix list whose entries hold the bastion's address lets it in",
    world: oneVpc,
    change: (w) => {
      sg(w, 'sg-db').inbound = [rule({ prefixListIds: ['pl-office'] })];
      w.facts.prefixLists['pl-office'] = ['192.168.0.0/16', '10.0.1.0/24'];
    },
    step: 'database security groups',
    verdict: 'open',
    why: /pl-office \(10\.0\.1\.0\/24\)/,
  },
  {
    name: 'a prefix list whose entries could not be read: unknown, not blocked',
    world: oneVpc,
    change: (w) => {
      sg(w, 'sg-db').inbound = [rule({ prefixListIds: ['pl-secret'] })];
    },
    step: 'database security groups',
    verdict: 'unknown',
    why: /pl-secret could not be read/,
  },
  {
    name: 'the rules of every group on an interface add up',
    world: oneVpc,
    change: (w) => {
      w.bastion.groupIds = ['sg-bastion', 'sg-out'];
      sg(w, 'sg-bastion').outbound = [];
      w.facts.securityGroups!.push({ id: 'sg-out', name: 'out', vpcId: 'vpc-1', inbound: [], outbound: [ALL_OUT] });
    },
    step: 'bastion security groups',
    verdict: 'open',
    why: /sg-out allows all traffic to 0\.0\.0\.0\/0/,
  },
  {
    name: 'the bastion may not send to the database: blocked, with the egress rule to its group',
    world: oneVpc,
    change: (w) => {
      sg(w, 'sg-bastion').outbound = [rule({ fromPort: 443, toPort: 443, cidrs: ['0.0.0.0/0'] })];
    },
    step: 'bastion security groups',
    verdict: 'blocked',
    fix:
      'aws ec2 authorize-security-group-egress --group-id sg-bastion --ip-permissions ' +
      "'IpProtocol=tcp,FromPort=3306,ToPort=3306,UserIdGroupPairs=[{GroupId=sg-db}]'",
  },
  {
    name: 'an outbound rule naming the database group lets it out (membership, not address)',
    world: oneVpc,
    change: (w) => {
      sg(w, 'sg-bastion').outbound = [rule({ groupIds: ['sg-db'] })];
    },
    step: 'bastion security groups',
    verdict: 'open',
  },
  {
    name: 'an outbound CIDR covering half the subnet of a database whose address is unknown: partly',
    world: oneVpc,
    change: (w) => {
      sg(w, 'sg-bastion').outbound = [rule({ cidrs: ['10.0.2.0/25'] })];
      w.database = { ...w.database, found: 'rds-instance', ip: undefined, groupIds: ['sg-db'] };
      sg(w, 'sg-db').inbound = [rule({ groupIds: ['sg-bastion'] })];
    },
    step: 'bastion security groups',
    verdict: 'partly',
    why: /only for 10\.0\.2\.0\/25 of 10\.0\.2\.0\/24/,
  },
  {
    name: 'the same CIDR with the address known (10.0.2.20): open',
    world: oneVpc,
    change: (w) => {
      sg(w, 'sg-bastion').outbound = [rule({ cidrs: ['10.0.2.0/25'] })];
    },
    step: 'bastion security groups',
    verdict: 'open',
  },
  {
    name: "the database's groups unknown (no interface at its address): unknown, not blocked",
    world: oneVpc,
    change: (w) => {
      w.database = { ...w.database, found: 'address-only', groupIds: undefined, vpcId: undefined, subnetIds: [] };
    },
    step: 'database security groups',
    verdict: 'unknown',
  },

  // Network ACLs (§network ACLs)
  {
    name: 'a deny with a lower number than the allow: blocked, fixed by an allow just before it',
    world: oneVpc,
    change: (w) => {
      acl(w, 'acl-b').entries.push(
        entry({
          ruleNumber: 50,
          action: 'deny',
          protocol: '6',
          portRange: { from: 3306, to: 3306 },
          cidr: '10.0.1.0/24',
        }),
      );
    },
    step: 'database subnet network ACL',
    verdict: 'blocked',
    why: /acl-b \(subnet subnet-b\) denies inbound tcp 3306 from 10\.0\.1\.10: rule 50 \(deny tcp 3306 from 10\.0\.1\.0\/24\)/,
    fix:
      'aws ec2 create-network-acl-entry --network-acl-id acl-b --ingress --rule-number 49 --protocol tcp ' +
      '--port-range From=3306,To=3306 --cidr-block 10.0.1.0/24 --rule-action allow',
  },
  {
    name: 'the same deny with a higher number than the allow: the first match wins, open',
    world: oneVpc,
    change: (w) => {
      acl(w, 'acl-b').entries.push(entry({ ruleNumber: 200, action: 'deny', protocol: '6', cidr: '10.0.1.0/24' }));
    },
    step: 'database subnet network ACL',
    verdict: 'open',
  },
  {
    name: "the bastion subnet's outbound deny: blocked, fixed with an egress entry",
    world: oneVpc,
    change: (w) => {
      acl(w, 'acl-a').entries.unshift(entry({ ruleNumber: 10, egress: true, action: 'deny', cidr: '10.0.2.0/24' }));
    },
    step: 'bastion subnet network ACL',
    verdict: 'blocked',
    fix:
      'aws ec2 create-network-acl-entry --network-acl-id acl-a --egress --rule-number 9 --protocol tcp ' +
      '--port-range From=3306,To=3306 --cidr-block 10.0.2.20/32 --rule-action allow',
  },
  {
    name: 'nothing matches: the final * entry denies (and the fix takes the next free number)',
    world: oneVpc,
    change: (w) => {
      acl(w, 'acl-b').entries = [
        entry({ ruleNumber: 100, egress: false, protocol: '6', portRange: { from: 22, to: 22 } }),
        entry({ egress: true }),
      ];
    },
    step: 'database subnet network ACL',
    verdict: 'blocked',
    why: /the final `\*` entry/,
    fix:
      'aws ec2 create-network-acl-entry --network-acl-id acl-b --ingress --rule-number 110 --protocol tcp ' +
      '--port-range From=3306,To=3306 --cidr-block 10.0.1.0/24 --rule-action allow',
  },
  {
    name: 'a deny at rule 1 leaves no number before it: the fix replaces it',
    world: oneVpc,
    change: (w) => {
      acl(w, 'acl-b').entries.push(entry({ ruleNumber: 1, action: 'deny', cidr: '10.0.1.10/32' }));
    },
    step: 'database subnet network ACL',
    verdict: 'blocked',
    fix:
      'aws ec2 replace-network-acl-entry --network-acl-id acl-b --ingress --rule-number 1 --protocol tcp ' +
      '--port-range From=3306,To=3306 --cidr-block 10.0.1.0/24 --rule-action allow',
  },
  {
    name: "stateless: replies leaving the database's subnet on the bastion's ephemeral port need their own rule",
    world: oneVpc,
    change: (w) => {
      acl(w, 'acl-b').entries = [
        entry({ egress: false }),
        entry({ egress: true, protocol: '6', portRange: { from: 3306, to: 3306 } }),
      ];
    },
    step: 'database subnet network ACL',
    verdict: 'blocked',
    why: /outbound replies to 10\.0\.1\.10 on 1024-65535/,
    fix:
      'aws ec2 create-network-acl-entry --network-acl-id acl-b --egress --rule-number 110 --protocol tcp ' +
      '--port-range From=1024,To=65535 --cidr-block 10.0.1.0/24 --rule-action allow',
  },
  {
    name: "replies allowed on 32768-65535 only: open, Linux's ephemeral range is inside",
    world: oneVpc,
    change: (w) => {
      acl(w, 'acl-b').entries = [
        entry({ egress: false }),
        entry({ egress: true, protocol: '6', portRange: { from: 32768, to: 65535 } }),
      ];
    },
    step: 'database subnet network ACL',
    verdict: 'open',
  },
  {
    name: "replies allowed on 49152-65535 only: partly, Linux's range is not",
    world: oneVpc,
    change: (w) => {
      acl(w, 'acl-a').entries = [
        entry({ egress: true }),
        entry({ egress: false, protocol: '6', portRange: { from: 49152, to: 65535 } }),
      ];
    },
    step: 'bastion subnet network ACL',
    verdict: 'partly',
    why: /inbound replies from 10\.0\.2\.20 on 1024-65535 for 10\.0\.2\.20 port 1024-49151/,
  },
  {
    name: 'one subnet for both: network ACLs do not apply, even a deny-all one',
    world: oneVpc,
    change: (w) => {
      w.database.subnetIds = ['subnet-a'];
      acl(w, 'acl-a').entries = [];
    },
    step: 'bastion subnet network ACL',
    verdict: 'open',
    why: /share a subnet/,
  },
  {
    name: 'network ACLs that could not be described: unknown, with the reason',
    world: oneVpc,
    change: (w) => {
      w.facts.networkAcls = undefined;
      w.facts.notDescribed.networkAcls = 'not allowed to call ec2:DescribeNetworkAcls';
    },
    step: 'database subnet network ACL',
    verdict: 'unknown',
    why: /ec2:DescribeNetworkAcls/,
  },

  // Routes (§routes)
  {
    name: 'one VPC: the local route',
    world: oneVpc,
    change: () => {},
    step: 'route to the database',
    verdict: 'open',
    why: /rtb-main keeps 10\.0\.2\.20 inside vpc-1 \(local\)/,
  },
  {
    name: 'peered VPCs with a route each way: open',
    world: peered,
    change: () => {},
    step: 'route back',
    verdict: 'open',
    why: /rtb-2 sends 10\.0\.1\.10 to VPC peering connection pcx-1/,
  },
  {
    name: 'peered, the way back missing: blocked, fixed by a route through the same peering',
    world: peered,
    change: (w) => {
      rtb(w, 'rtb-2').routes.pop();
    },
    step: 'route back',
    verdict: 'blocked',
    why: /No route in rtb-2 covers 10\.0\.1\.10/,
    fix: 'aws ec2 create-route --route-table-id rtb-2 --destination-cidr-block 10.0.1.0/24 --vpc-peering-connection-id pcx-1',
  },
  {
    name: 'peered, the way there missing: blocked, fixed by a route through the peering the way back uses',
    world: peered,
    change: (w) => {
      rtb(w, 'rtb-1').routes.pop();
    },
    step: 'route to the database',
    verdict: 'blocked',
    fix: 'aws ec2 create-route --route-table-id rtb-1 --destination-cidr-block 10.1.2.0/24 --vpc-peering-connection-id pcx-1',
  },
  {
    name: 'two VPCs with no route either way: the advice is a peering connection',
    world: peered,
    change: (w) => {
      rtb(w, 'rtb-1').routes.pop();
      rtb(w, 'rtb-2').routes.pop();
    },
    step: 'route to the database',
    verdict: 'blocked',
    advice: /need a peering connection or a transit gateway/,
  },
  {
    name: 'a route to a deleted peering connection is a blackhole',
    world: peered,
    change: (w) => {
      rtb(w, 'rtb-1').routes[1]!.state = 'blackhole';
    },
    step: 'route to the database',
    verdict: 'blocked',
    why: /no longer exists \(a blackhole route\)/,
  },
  {
    name: 'the longest prefix wins: a /24 blackhole under an active /16',
    world: peered,
    change: (w) => {
      rtb(w, 'rtb-1').routes.push({ destination: { cidr: '10.1.2.0/24' }, target: 'pcx-old', state: 'blackhole' });
    },
    step: 'route to the database',
    verdict: 'blocked',
    why: /pcx-old/,
  },
  {
    name: "a subnet's own route table, not the main one",
    world: peered,
    change: (w) => {
      w.facts.routeTables!.push({
        id: 'rtb-own',
        vpcId: 'vpc-1',
        main: false,
        subnetIds: ['subnet-a'],
        routes: [{ destination: { cidr: '10.0.0.0/16' }, target: 'local', state: 'active' }],
      });
    },
    step: 'route to the database',
    verdict: 'blocked',
    why: /No route in rtb-own covers 10\.1\.2\.20/,
  },
  {
    name: 'a private address sent to an internet gateway does not arrive',
    world: peered,
    change: (w) => {
      rtb(w, 'rtb-1').routes[1] = { destination: { cidr: '0.0.0.0/0' }, target: 'igw-1', state: 'active' };
    },
    step: 'route to the database',
    verdict: 'blocked',
    why: /internet gateway igw-1/,
  },
  {
    name: 'through an appliance (an ENI): unknown',
    world: peered,
    change: (w) => {
      rtb(w, 'rtb-1').routes[1]!.target = 'eni-firewall';
    },
    step: 'route to the database',
    verdict: 'unknown',
  },
  {
    name: 'a route whose destination is a prefix list',
    world: peered,
    change: (w) => {
      rtb(w, 'rtb-1').routes[1]!.destination = { prefixListId: 'pl-peers' };
      w.facts.prefixLists['pl-peers'] = ['10.1.0.0/16'];
    },
    step: 'route to the database',
    verdict: 'open',
  },
  {
    name: 'overlapping VPCs: the local route takes the address',
    world: peered,
    change: (w) => {
      rtb(w, 'rtb-1').routes[0]!.destination = { cidr: '10.0.0.0/8' };
      rtb(w, 'rtb-1').routes.pop();
    },
    step: 'route to the database',
    verdict: 'blocked',
    why: /overlap/,
  },

  // The database itself
  {
    name: 'a stopped RDS instance: blocked, fixed by starting it',
    world: oneVpc,
    change: (w) => {
      w.database = { ...w.database, found: 'rds-instance', rds: { id: 'mydb', status: 'stopped', port: 3306 } };
    },
    step: 'database',
    verdict: 'blocked',
    fix: 'aws rds start-db-instance --db-instance-identifier mydb',
  },
  {
    name: 'a stopped cluster is started as a cluster',
    world: oneVpc,
    change: (w) => {
      w.database = {
        ...w.database,
        found: 'rds-cluster',
        rds: { id: 'c1', status: 'stopped', port: 3306, members: [] },
      };
    },
    step: 'database',
    verdict: 'blocked',
    fix: 'aws rds start-db-cluster --db-cluster-identifier c1',
  },
  {
    name: 'a cluster with no available instance',
    world: oneVpc,
    change: (w) => {
      w.database = {
        ...w.database,
        found: 'rds-cluster',
        rds: { id: 'c1', status: 'available', port: 3306, members: [{ id: 'c1-a', status: 'rebooting' }] },
      };
    },
    step: 'database',
    verdict: 'blocked',
    why: /No instance of the RDS cluster c1 is available \(c1-a rebooting\)/,
  },
  {
    name: "the config's port is not the endpoint's",
    world: oneVpc,
    change: (w) => {
      w.database = {
        ...w.database,
        port: 3307,
        found: 'rds-instance',
        rds: { id: 'mydb', status: 'available', port: 3306 },
      };
      sg(w, 'sg-db').inbound = [rule({ fromPort: 0, toPort: 65535, groupIds: ['sg-bastion'] })];
    },
    step: 'database',
    verdict: 'blocked',
    advice: /port: 3306/,
  },
  {
    name: 'an available RDS instance on its port',
    world: oneVpc,
    change: (w) => {
      w.database = { ...w.database, found: 'rds-instance', rds: { id: 'mydb', status: 'available', port: 3306 } };
    },
    step: 'database',
    verdict: 'open',
  },
];

describe('the path from the bastion to the database', () => {
  it.each(rows)('$name', (row) => {
    const w = row.world();
    row.change(w);
    const f = evaluatePath(w.bastion, w.database, w.facts);
    const hop = f.hops.find((h) => h.step === row.step);
    expect(hop, `no hop ${row.step}`).toBeDefined();
    expect({ verdict: hop!.verdict, why: hop!.why }).toMatchObject({ verdict: row.verdict });
    if (row.why) expect(hop!.why).toMatch(row.why);
    if (row.fix) expect(commandLine('bash', hop!.fix ?? [])).toBe(row.fix);
    if (row.advice) expect(hop!.advice).toMatch(row.advice);
    if (row.verdict === 'blocked') expect(f.blocking?.step).toBe(row.step);
  });

  it('an open path: every hop open, nothing blocking, nothing left unchecked', () => {
    for (const w of [oneVpc(), peered()]) {
      const f = evaluatePath(w.bastion, w.database, w.facts);
      expect(f.hops.map((h) => [h.step, h.verdict])).toEqual(f.hops.map((h) => [h.step, 'open']));
      expect(f.hops.map((h) => h.step)).toEqual([
        'bastion security groups',
        'database security groups',
        'bastion subnet network ACL',
        'database subnet network ACL',
        'route to the database',
        'route back',
      ]);
      expect(f.blocking).toBeUndefined();
      expect(f.limits).toEqual([]);
    }
  });

  it('the first blocking hop is the one named, in path order', () => {
    const w = oneVpc();
    sg(w, 'sg-db').inbound = [];
    acl(w, 'acl-b').entries = [];
    expect(evaluatePath(w.bastion, w.database, w.facts).blocking?.step).toBe('database security groups');
  });

  it('a name that does not resolve: said, and what needs no address is still checked', () => {
    const w = oneVpc();
    w.database = { host: 'db.corp.invalid', port: 3306, found: 'unresolved', subnetIds: [] };
    const f = evaluatePath(w.bastion, w.database, w.facts);
    expect(f.limits[0]).toMatch(/db\.corp\.invalid does not resolve here .* only the checks that need no address/);
    expect(f.hops.find((h) => h.step === 'bastion security groups')?.verdict).toBe('open');
    expect(f.hops.find((h) => h.step === 'database security groups')?.verdict).toBe('unknown');
    expect(f.hops.find((h) => h.step === 'route back')?.verdict).toBe('unknown');
  });

  it('RDS without a resolvable address: each subnet of its group, and "depends" when they differ', () => {
    const w = oneVpc();
    w.facts.subnets!.push({ id: 'subnet-d', vpcId: 'vpc-1', cidr: '10.0.4.0/24' });
    w.facts.networkAcls!.push({
      id: 'acl-d',
      vpcId: 'vpc-1',
      isDefault: false,
      subnetIds: ['subnet-d'],
      entries: [entry({ ruleNumber: 10, action: 'deny', cidr: '10.0.1.0/24' }), ...OPEN_ACL],
    });
    w.database = { ...w.database, found: 'rds-instance', ip: undefined, subnetIds: ['subnet-b', 'subnet-d'] };
    const f = evaluatePath(w.bastion, w.database, w.facts);
    const hop = f.hops.find((h) => h.step === 'database subnet network ACL')!;
    expect(hop.verdict).toBe('partly');
    expect(hop.why).toMatch(/depends on the subnet .* acl-d/);
    expect(f.limits.join(' ')).toMatch(/only known to be in its subnet group \(subnet-b, subnet-d\)/);
  });
});

describe('ranges', () => {
  it.each([
    ['10.0.1.7/24', '10.0.1.0/24'],
    ['10.0.1.7', '10.0.1.7'],
    ['0.0.0.0/0', '0.0.0.0/0'],
    ['10.0.0.0/15', '10.0.0.0/15'],
  ])('%s is %s (host bits ignored)', (cidr, shown) => {
    expect(formatAddresses(cidrRange(cidr)!)).toBe(shown);
  });
  it.each(['10.0.0.256/24', '10.0.0.0/33', '::/0', '10.0.0/8', 'x'])('%s is not an IPv4 CIDR', (cidr) => {
    expect(cidrRange(cidr)).toBeUndefined();
  });
  it('cells: every edge cuts, nothing outside the whole range', () => {
    expect(
      cells(
        [0, 100],
        [
          [10, 20],
          [15, 200],
        ],
      ),
    ).toEqual([
      [0, 9],
      [10, 14],
      [15, 20],
      [21, 100],
    ]);
  });
});
