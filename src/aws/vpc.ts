// Describing the path from the bastion to the database: where each end is (its network interface,
// subnet, VPC and security groups) and the VPC parts between them, for src/network/ to evaluate.
// At most two sequential rounds of AWS calls once the bastion is known, three when a rule names a
// managed prefix list; a call that is refused or fails leaves its part undescribed, with the reason.
import { lookup } from 'node:dns/promises';
import { isIPv4 } from 'node:net';
import {
  DescribeInstancesCommand,
  DescribeNetworkAclsCommand,
  DescribeNetworkInterfacesCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  GetManagedPrefixListEntriesCommand,
  type IpPermission,
  type NetworkInterface,
} from '@aws-sdk/client-ec2';
import { DescribeDBClustersCommand, DescribeDBInstancesCommand, type DBInstance, RDSClient } from '@aws-sdk/client-rds';
import type {
  BastionPlace,
  DatabasePlace,
  NetworkAcl,
  Route,
  RouteTable,
  SecurityGroup,
  SecurityGroupRule,
  Subnet,
  VpcFacts,
} from '../vpc.js';
import { TunnelError } from '../errors.js';
import type { AwsContext } from './context.js';
import { describeAwsError } from './errors.js';

/** An RDS endpoint names its instance or cluster: `<id>.<hash>.<region>.rds.amazonaws.com`. */
export type RdsEndpoint = { kind: 'instance' | 'cluster'; id: string; region: string };

const RDS_ENDPOINT =
  /^([a-z][a-z0-9-]*)\.(cluster-(?:ro-)?)?([a-z0-9]+)\.([a-z]{2}(?:-[a-z]+)+-\d)\.rds\.amazonaws\.com(?:\.cn)?\.?$/i;

/**
 * The RDS instance or cluster an endpoint names, or undefined. Custom cluster endpoints
 * (`.cluster-custom-…`) and RDS Proxy (`.proxy-…`) name an endpoint, not a cluster: they do not
 * match, and are located by address like any other host. Pure.
 */
export function rdsEndpointOf(host: string): RdsEndpoint | undefined {
  const m = RDS_ENDPOINT.exec(host);
  if (!m) return undefined;
  return { kind: m[2] ? 'cluster' : 'instance', id: m[1]!.toLowerCase(), region: m[4]!.toLowerCase() };
}

/** RFC 1918 and the shared range (100.64/10): an address the database has inside its VPC. */
export function isPrivateIpv4(ip: string): boolean {
  const [a, b] = ip.split('.').map(Number) as [number, number];
  return (
    a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 100 && b >= 64 && b <= 127)
  );
}

export interface PathDescription {
  bastion: BastionPlace;
  database: DatabasePlace;
  facts: VpcFacts;
  /** The AWS calls made, round by round (for --debug and the bench). */
  rounds: string[][];
}

export interface DescribePathDeps {
  /** The local resolver (dns.lookup, IPv4), bounded in time. */
  resolve(host: string): Promise<string | undefined>;
}

const RESOLVE_TIMEOUT_MS = 3000;

export const localResolver: DescribePathDeps = {
  async resolve(host) {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), RESOLVE_TIMEOUT_MS);
      timer.unref();
    });
    try {
      return await Promise.race([lookup(host, { family: 4 }).then((a) => a.address), late]);
    } catch {
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  },
};

function refused(e: unknown, action: string): string {
  const err = describeAwsError(e, { action });
  return err.kind === 'accessDenied' ? `not allowed to call ${action}` : `${action} failed: ${err.message}`;
}

/** Where the bastion is and what lies between it and `database`. Throws only if the bastion cannot be described. */
export async function describePath(
  aws: AwsContext,
  instanceId: string,
  database: { host: string; port: number },
  deps: DescribePathDeps = localResolver,
  signal?: AbortSignal,
): Promise<PathDescription> {
  const options = { abortSignal: signal };
  if (instanceId.startsWith('mi-')) {
    // A managed instance outside EC2 (on premises, another cloud): no VPC describes its network.
    throw new TunnelError(
      'aws',
      `The bastion ${instanceId} is a managed instance outside EC2: no VPC describes its network.`,
    );
  }
  const rounds: string[][] = [[], []];
  const ec2 = aws.ec2;
  const rds = rdsEndpointOf(database.host);
  const ip = isIPv4(database.host) ? database.host : await deps.resolve(database.host);
  const limits: string[] = [];

  // Round 1: the bastion, the RDS database, the network interface at the database's address.
  rounds[0]!.push('ec2:DescribeInstances');
  const bastionCall = ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }), options).then(
    (out) => out.Reservations?.flatMap((r) => r.Instances ?? []).find((i) => i.InstanceId === instanceId),
    (e) => {
      throw describeAwsError(e, {
        action: `describe the bastion ${instanceId} (ec2:DescribeInstances)`,
        profile: aws.profile,
        region: aws.region,
      });
    },
  );
  const rdsCall = rds ? describeRds(aws, rds, rounds[0]!, options).catch((e: unknown) => e as Error) : undefined;
  let eniCall: Promise<NetworkInterface | undefined | Error> | undefined;
  if (ip) {
    rounds[0]!.push('ec2:DescribeNetworkInterfaces');
    const filter = isPrivateIpv4(ip) ? 'addresses.private-ip-address' : 'association.public-ip';
    eniCall = ec2
      .send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: filter, Values: [ip] }] }), options)
      .then((out) => out.NetworkInterfaces?.[0])
      .catch((e: unknown) => new Error(refused(e, 'ec2:DescribeNetworkInterfaces')));
  }
  const [instance, rdsFound, eni] = await Promise.all([bastionCall, rdsCall, eniCall]);
  if (!instance?.PrivateIpAddress || !instance.SubnetId || !instance.VpcId) {
    throw new TunnelError(
      'aws',
      `EC2 describes no private address, subnet and VPC for the bastion ${instanceId}, so the path from it ` +
        'cannot be checked.',
    );
  }
  const bastion: BastionPlace = {
    instanceId,
    networkInterfaceId: instance.NetworkInterfaces?.find((n) => n.Attachment?.DeviceIndex === 0)?.NetworkInterfaceId,
    privateIp: instance.PrivateIpAddress,
    subnetId: instance.SubnetId,
    vpcId: instance.VpcId,
    groupIds: (instance.SecurityGroups ?? []).flatMap((g) => (g.GroupId ? [g.GroupId] : [])),
  };

  let place: DatabasePlace = {
    host: database.host,
    port: database.port,
    found: ip ? 'address-only' : 'unresolved',
    ip,
    subnetIds: [],
  };
  if (rdsFound instanceof Error) limits.push(rdsFound.message);
  else if (rdsFound) place = { ...place, ...rdsFound };
  if (eni instanceof Error) limits.push(eni.message);
  else if (eni) {
    place = {
      ...place,
      found: place.rds ? place.found : 'network-interface',
      ip: eni.PrivateIpAddress ?? ip,
      networkInterfaceId: eni.NetworkInterfaceId,
      subnetIds: eni.SubnetId ? [eni.SubnetId] : place.subnetIds,
      vpcId: eni.VpcId ?? place.vpcId,
      groupIds: place.groupIds ?? (eni.Groups ?? []).flatMap((g) => (g.GroupId ? [g.GroupId] : [])),
    };
  } else if (ip && !isPrivateIpv4(ip) && place.rds) {
    // A public RDS endpoint resolves here to its public address; inside the VPC it is private.
    place = { ...place, ip: undefined };
  }

  // Round 2: the groups of both ends, both VPCs' network ACLs and route tables, the subnets.
  const vpcs = [...new Set([bastion.vpcId, place.vpcId].filter((v): v is string => !!v))];
  const groupIds = [...new Set([...bastion.groupIds, ...(place.groupIds ?? [])])];
  const subnetIds = [...new Set([bastion.subnetId, ...place.subnetIds])];
  const byVpc = [{ Name: 'vpc-id', Values: vpcs }];
  const part = async <T>(action: string, call: () => Promise<T>): Promise<T | Error> => {
    rounds[1]!.push(action);
    try {
      return await call();
    } catch (e) {
      return new Error(refused(e, action));
    }
  };
  const [groups, acls, tables, subnets] = await Promise.all([
    part('ec2:DescribeSecurityGroups', async () =>
      // No ids would describe every group of the region: there is nothing to describe.
      (groupIds.length === 0
        ? []
        : ((await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: groupIds }), options)).SecurityGroups ?? [])
      ).map(
        (g): SecurityGroup => ({
          id: g.GroupId ?? '',
          name: g.GroupName ?? '',
          vpcId: g.VpcId,
          inbound: (g.IpPermissions ?? []).map(toRule),
          outbound: (g.IpPermissionsEgress ?? []).map(toRule),
        }),
      ),
    ),
    part('ec2:DescribeNetworkAcls', async () =>
      ((await ec2.send(new DescribeNetworkAclsCommand({ Filters: byVpc }), options)).NetworkAcls ?? []).map(
        (a): NetworkAcl => ({
          id: a.NetworkAclId ?? '',
          vpcId: a.VpcId ?? '',
          isDefault: a.IsDefault ?? false,
          subnetIds: (a.Associations ?? []).flatMap((s) => (s.SubnetId ? [s.SubnetId] : [])),
          entries: (a.Entries ?? []).map((e) => ({
            ruleNumber: e.RuleNumber ?? 32767,
            egress: e.Egress ?? false,
            action: e.RuleAction === 'allow' ? 'allow' : 'deny',
            protocol: e.Protocol ?? '-1',
            cidr: e.CidrBlock,
            portRange:
              e.PortRange?.From !== undefined
                ? { from: e.PortRange.From, to: e.PortRange.To ?? e.PortRange.From }
                : undefined,
          })),
        }),
      ),
    ),
    part('ec2:DescribeRouteTables', async () =>
      ((await ec2.send(new DescribeRouteTablesCommand({ Filters: byVpc }), options)).RouteTables ?? []).map(
        (t): RouteTable => ({
          id: t.RouteTableId ?? '',
          vpcId: t.VpcId ?? '',
          main: (t.Associations ?? []).some((a) => a.Main),
          subnetIds: (t.Associations ?? []).flatMap((a) => (a.SubnetId ? [a.SubnetId] : [])),
          routes: (t.Routes ?? []).flatMap((r): Route[] => {
            const destination = r.DestinationCidrBlock
              ? { cidr: r.DestinationCidrBlock }
              : r.DestinationPrefixListId
                ? { prefixListId: r.DestinationPrefixListId }
                : undefined;
            if (!destination) return []; // IPv6
            const target =
              (r.GatewayId ??
                r.VpcPeeringConnectionId ??
                r.TransitGatewayId ??
                r.NatGatewayId ??
                r.NetworkInterfaceId ??
                r.InstanceId ??
                r.EgressOnlyInternetGatewayId ??
                r.LocalGatewayId ??
                r.CarrierGatewayId ??
                r.CoreNetworkArn) ||
              'unknown';
            return [{ destination, target, state: r.State === 'blackhole' ? 'blackhole' : 'active' }];
          }),
        }),
      ),
    ),
    part('ec2:DescribeSubnets', async () =>
      ((await ec2.send(new DescribeSubnetsCommand({ SubnetIds: subnetIds }), options)).Subnets ?? []).flatMap(
        (s): Subnet[] =>
          s.SubnetId && s.VpcId && s.CidrBlock ? [{ id: s.SubnetId, vpcId: s.VpcId, cidr: s.CidrBlock }] : [],
      ),
    ),
  ]);
  const facts: VpcFacts = { prefixLists: {}, notDescribed: {} };
  if (groups instanceof Error) facts.notDescribed.securityGroups = groups.message;
  else facts.securityGroups = groups;
  if (acls instanceof Error) facts.notDescribed.networkAcls = acls.message;
  else facts.networkAcls = acls;
  if (tables instanceof Error) facts.notDescribed.routeTables = tables.message;
  else facts.routeTables = tables;
  if (subnets instanceof Error) facts.notDescribed.subnets = subnets.message;
  else facts.subnets = subnets;

  // Round 3, only when a rule or a route names a managed prefix list: its entries.
  const lists = new Set<string>();
  for (const g of facts.securityGroups ?? [])
    for (const r of [...g.inbound, ...g.outbound]) for (const p of r.prefixListIds) lists.add(p);
  for (const t of facts.routeTables ?? [])
    for (const r of t.routes) if ('prefixListId' in r.destination) lists.add(r.destination.prefixListId);
  if (lists.size > 0) {
    rounds.push([]);
    const entries = await Promise.all(
      [...lists].map(async (id) => {
        rounds[2]!.push('ec2:GetManagedPrefixListEntries');
        try {
          const out = await ec2.send(new GetManagedPrefixListEntriesCommand({ PrefixListId: id }), options);
          return [id, (out.Entries ?? []).flatMap((e) => (e.Cidr ? [e.Cidr] : []))] as const;
        } catch (e) {
          facts.notDescribed.prefixLists = refused(e, 'ec2:GetManagedPrefixListEntries');
          return undefined;
        }
      }),
    );
    for (const e of entries) if (e) facts.prefixLists[e[0]] = e[1];
  }
  if (limits.length) place.notes = limits;
  return { bastion, database: place, facts, rounds };
}

function toRule(p: IpPermission): SecurityGroupRule {
  return {
    protocol: p.IpProtocol ?? '-1',
    fromPort: p.FromPort,
    toPort: p.ToPort,
    cidrs: (p.IpRanges ?? []).flatMap((r) => (r.CidrIp ? [r.CidrIp] : [])),
    groupIds: (p.UserIdGroupPairs ?? []).flatMap((g) => (g.GroupId ? [g.GroupId] : [])),
    prefixListIds: (p.PrefixListIds ?? []).flatMap((l) => (l.PrefixListId ? [l.PrefixListId] : [])),
  };
}

const groupIdsOf = (i: { VpcSecurityGroups?: { VpcSecurityGroupId?: string | undefined }[] | undefined }) =>
  (i.VpcSecurityGroups ?? []).flatMap((g) => (g.VpcSecurityGroupId ? [g.VpcSecurityGroupId] : []));
const subnetsOf = (i: DBInstance) =>
  (i.DBSubnetGroup?.Subnets ?? []).flatMap((s) => (s.SubnetIdentifier ? [s.SubnetIdentifier] : []));

/** The RDS instance or cluster an endpoint names: status, port, groups, subnet group, VPC. */
async function describeRds(
  aws: AwsContext,
  endpoint: RdsEndpoint,
  round: string[],
  options: { abortSignal?: AbortSignal | undefined },
): Promise<Partial<DatabasePlace>> {
  const client = new RDSClient(aws.clientConfig('rds'));
  try {
    if (endpoint.kind === 'instance') {
      round.push('rds:DescribeDBInstances');
      const out = await client.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: endpoint.id }), options);
      const i = out.DBInstances?.[0];
      if (!i) throw Object.assign(new Error(`no RDS instance ${endpoint.id}`), { name: 'DBInstanceNotFoundFault' });
      return {
        found: 'rds-instance',
        rds: { id: endpoint.id, status: i.DBInstanceStatus ?? 'unknown', port: i.Endpoint?.Port },
        groupIds: groupIdsOf(i),
        subnetIds: subnetsOf(i),
        vpcId: i.DBSubnetGroup?.VpcId,
      };
    }
    round.push('rds:DescribeDBClusters', 'rds:DescribeDBInstances');
    const [clusters, members] = await Promise.all([
      client.send(new DescribeDBClustersCommand({ DBClusterIdentifier: endpoint.id }), options),
      client.send(
        new DescribeDBInstancesCommand({ Filters: [{ Name: 'db-cluster-id', Values: [endpoint.id] }] }),
        options,
      ),
    ]);
    const c = clusters.DBClusters?.[0];
    if (!c) throw Object.assign(new Error(`no RDS cluster ${endpoint.id}`), { name: 'DBClusterNotFoundFault' });
    const instances = members.DBInstances ?? [];
    return {
      found: 'rds-cluster',
      rds: {
        id: endpoint.id,
        status: c.Status ?? 'unknown',
        port: c.Port,
        members: instances.map((i) => ({ id: i.DBInstanceIdentifier ?? '', status: i.DBInstanceStatus ?? 'unknown' })),
      },
      groupIds: groupIdsOf(c),
      subnetIds: [...new Set(instances.flatMap(subnetsOf))],
      vpcId: instances.find((i) => i.DBSubnetGroup?.VpcId)?.DBSubnetGroup?.VpcId,
    };
  } catch (e) {
    const name = (e as Error).name;
    if (name === 'DBInstanceNotFoundFault' || name === 'DBClusterNotFoundFault') {
      throw new Error(`RDS has no ${endpoint.kind} named ${endpoint.id} in ${aws.region}`);
    }
    throw new Error(refused(e, endpoint.kind === 'instance' ? 'rds:DescribeDBInstances' : 'rds:DescribeDBClusters'));
  } finally {
    client.destroy();
  }
}
