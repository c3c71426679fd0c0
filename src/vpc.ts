// What AWS says about the parts of a VPC that stand between the bastion and the database, as plain
// data: src/aws/vpc.ts writes it from the Describe calls, src/network/ reads it. Types only;
// docs/network-path.md has the semantics and their sources.

/** One rule of a security group: a protocol, a port range, and the remote ends it allows. */
export interface SecurityGroupRule {
  /** `tcp`, `udp`, `icmp`, a protocol number, or `-1` for every protocol. */
  protocol: string;
  /** Absent (or -1) with protocol -1: every port. */
  fromPort?: number | undefined;
  toPort?: number | undefined;
  /** IPv4 ranges. (IPv6 ranges never match the IPv4 path dbtunnel checks, so they are not kept.) */
  cidrs: string[];
  /** Referenced security groups: the network interfaces that carry one of them. */
  groupIds: string[];
  /** Managed prefix lists: their entries are CIDRs. */
  prefixListIds: string[];
}

export interface SecurityGroup {
  id: string;
  name: string;
  vpcId: string | undefined;
  inbound: SecurityGroupRule[];
  outbound: SecurityGroupRule[];
}

export interface NetworkAclEntry {
  ruleNumber: number;
  /** true: the outbound rules (traffic leaving the subnet). */
  egress: boolean;
  action: 'allow' | 'deny';
  /** A protocol number as a string (`6` is TCP), or `-1` for all. */
  protocol: string;
  /** IPv4 only: an entry with an IPv6 block never matches the IPv4 path. */
  cidr: string | undefined;
  /** TCP and UDP only; absent means every port. */
  portRange?: { from: number; to: number } | undefined;
}

export interface NetworkAcl {
  id: string;
  vpcId: string;
  isDefault: boolean;
  /** The subnets it is associated with (every subnet has exactly one network ACL). */
  subnetIds: string[];
  entries: NetworkAclEntry[];
}

export interface Route {
  /** An IPv4 destination, or a prefix list's id (its entries are the destinations). */
  destination: { cidr: string } | { prefixListId: string };
  /** `local`, or the id of what it points to: pcx-…, tgw-…, igw-…, nat-…, eni-…, vgw-…, vpce-… */
  target: string;
  state: 'active' | 'blackhole';
}

export interface RouteTable {
  id: string;
  vpcId: string;
  /** The VPC's main route table: it serves every subnet without an explicit association. */
  main: boolean;
  subnetIds: string[];
  routes: Route[];
}

export interface Subnet {
  id: string;
  vpcId: string;
  cidr: string;
}

/**
 * The VPC parts the path crosses, as described. A part left undefined was not described (the call
 * was not allowed, or failed): `notDescribed` says why, and the hops that need it say so.
 */
export interface VpcFacts {
  securityGroups?: SecurityGroup[] | undefined;
  networkAcls?: NetworkAcl[] | undefined;
  routeTables?: RouteTable[] | undefined;
  subnets?: Subnet[] | undefined;
  /** A managed prefix list's entries (CIDRs), by its id; a list missing here was not described. */
  prefixLists: Record<string, string[]>;
  /** Why a part is missing, by part: "not allowed to call ec2:DescribeNetworkAcls". */
  notDescribed: Partial<Record<'securityGroups' | 'networkAcls' | 'routeTables' | 'subnets' | 'prefixLists', string>>;
}

/** The bastion's place in the network (its primary network interface). */
export interface BastionPlace {
  instanceId: string;
  /** Its primary network interface (where Reachability Analyzer starts). */
  networkInterfaceId?: string | undefined;
  privateIp: string;
  subnetId: string;
  vpcId: string;
  groupIds: string[];
}

/** What was found about the database's place in the network, and how. */
export interface DatabasePlace {
  host: string;
  /** The port in the config. */
  port: number;
  /** How dbtunnel found where it is. */
  found: 'rds-instance' | 'rds-cluster' | 'network-interface' | 'address-only' | 'unresolved';
  /** Its private IPv4 address, when the name resolved here or the host is one. */
  ip?: string | undefined;
  /** The network interface at that address, when one was found. */
  networkInterfaceId?: string | undefined;
  /** The subnet it is in; several when only RDS's subnet group is known. */
  subnetIds: string[];
  vpcId?: string | undefined;
  /** Its security groups (undefined: unknown). */
  groupIds?: string[] | undefined;
  /** RDS only: the instance or cluster, its status and the port its endpoint listens on. */
  rds?: { id: string; status: string; port: number | undefined; members?: { id: string; status: string }[] };
  /** What could not be learned about it, and why ("not allowed to call rds:DescribeDBInstances"). */
  notes?: string[] | undefined;
}

/** AWS Reachability Analyzer's answer on one path (src/aws/reachability.ts writes it, src/network/ compares). */
export interface ReachabilityAnswer {
  /** AWS found a path (undefined: the analysis did not finish, see `status`). */
  found: boolean | undefined;
  status: string;
  /** AWS's explanations of what blocks it: its code, the direction, the resources it names. */
  explanations: { code: string; direction: string | undefined; resources: string[] }[];
}
