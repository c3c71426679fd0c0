// Routing, as AWS does it (docs/network-path.md §routes): a subnet uses the route table associated
// with it, else its VPC's main route table; of the routes whose destination holds the address, the
// most specific wins (longest prefix); a route to a deleted peering connection or gateway is a
// `blackhole` that drops the traffic. Pure.
import type { Route, RouteTable } from '../vpc.js';
import { cells, cidrRange, covers, prefixLength, type Range } from './ranges.js';

export function routeTableFor(
  subnetId: string,
  vpcId: string | undefined,
  tables: readonly RouteTable[],
): RouteTable | undefined {
  return tables.find((t) => t.subnetIds.includes(subnetId)) ?? tables.find((t) => t.main && vpcId && t.vpcId === vpcId);
}

export interface RouteChoice {
  addresses: Range;
  /** The route that carries these addresses; undefined when none covers them. */
  route: Route | undefined;
  /** A route's prefix list whose entries are unknown, so the choice may be wrong. */
  unknownPrefixList?: string | undefined;
}

/** The route each part of `destination` takes (longest prefix match). */
export function chooseRoutes(
  table: RouteTable,
  destination: Range,
  prefixLists: Readonly<Record<string, string[]>>,
): RouteChoice[] {
  const candidates: { route: Route; range: Range; length: number }[] = [];
  let unknownPrefixList: string | undefined;
  for (const route of table.routes) {
    const d = route.destination;
    const cidrs = 'cidr' in d ? [d.cidr] : (prefixLists[d.prefixListId] ?? []);
    if ('prefixListId' in d && !prefixLists[d.prefixListId]) unknownPrefixList ??= d.prefixListId;
    for (const cidr of cidrs) {
      const range = cidrRange(cidr);
      if (range) candidates.push({ route, range, length: prefixLength(cidr) });
    }
  }
  return cells(
    destination,
    candidates.map((c) => c.range),
  ).map((addresses) => {
    const best = candidates
      .filter((c) => covers(c.range, addresses))
      .sort((a, b) => b.length - a.length || (a.route.target === 'local' ? -1 : 1))[0];
    return { addresses, route: best?.route, ...(unknownPrefixList ? { unknownPrefixList } : {}) };
  });
}

/** What a route's target is, in words. */
export function describeTarget(target: string): string {
  if (target === 'local') return 'the VPC itself (local)';
  const kinds: [string, string][] = [
    ['pcx-', 'VPC peering connection'],
    ['tgw-', 'transit gateway'],
    ['igw-', 'internet gateway'],
    ['eigw-', 'egress-only internet gateway'],
    ['nat-', 'NAT gateway'],
    ['vgw-', 'virtual private gateway (VPN)'],
    ['vpce-', 'VPC endpoint'],
    ['eni-', 'network interface'],
    ['i-', 'instance'],
    ['cagw-', 'carrier gateway'],
    ['lgw-', 'local gateway'],
  ];
  const kind = kinds.find(([p]) => target.startsWith(p))?.[1];
  return kind ? `${kind} ${target}` : target;
}

/** Targets that lead to another network (a peered VPC, a transit gateway, a VPN). */
export const leadsToAnotherNetwork = (target: string) => /^(pcx|tgw|vgw)-/.test(target);
