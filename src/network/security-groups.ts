// Security groups, as AWS evaluates them (docs/network-path.md §security groups): allow rules only;
// the rules of every group on a network interface add up; a rule matches TCP when its protocol is
// `tcp`, `6` or `-1`, the port is in its range, and the remote end is in one of its CIDRs, in one of
// its prefix lists' entries, or carries one of the groups it references. Stateful: an allowed
// connection's replies pass whatever the other direction says. Pure.
import type { SecurityGroup, SecurityGroupRule } from '../vpc.js';
import { ALL_PORTS, cells, cidrRange, covers, formatAddresses, formatPorts, type Range } from './ranges.js';

/** The other end of a connection, as a security group rule sees it. */
export interface RemoteEnd {
  /** Its address: one, or a range when only its subnet is known. */
  addresses: Range;
  /** What the range stands for: the address, "somewhere in its subnet", or "anywhere". */
  precision: Precision;
  /** Its security groups; undefined when unknown. */
  groupIds: string[] | undefined;
  /** How to name it in a sentence: "the database (sg-db)". */
  label: string;
}

export type Precision = 'address' | 'subnet' | 'none';

export type GroupVerdict =
  | { verdict: 'open'; why: string }
  | { verdict: 'blocked'; why: string }
  | { verdict: 'partly'; why: string }
  | { verdict: 'unknown'; why: string };

export function carriesTcp(protocol: string): boolean {
  return protocol === '-1' || protocol.toLowerCase() === 'tcp' || protocol === '6';
}

/** The ports a rule opens (every port for protocol -1 or a missing or -1 range). */
export function rulePorts(rule: Pick<SecurityGroupRule, 'protocol' | 'fromPort' | 'toPort'>): Range {
  if (rule.protocol === '-1' || rule.fromPort === undefined || rule.fromPort === -1) return ALL_PORTS;
  return [rule.fromPort, rule.toPort ?? rule.fromPort];
}

interface Match {
  group: SecurityGroup;
  rule: SecurityGroupRule;
  /** What in the rule matched: a CIDR, `pl-…`, or `sg-…`. */
  by: string;
}

function describeRule(m: Match, direction: 'to' | 'from'): string {
  const proto = m.rule.protocol === '-1' ? 'all traffic' : `tcp ${formatPorts(rulePorts(m.rule))}`;
  return `${m.group.id} allows ${proto} ${direction} ${m.by}`;
}

/**
 * Do these groups let TCP to/from `remote` on `port` through, in `direction` (outbound rules name the
 * destination, inbound rules the source)? `prefixLists` holds the entries of the lists described.
 */
export function groupsAllow(
  groups: readonly SecurityGroup[],
  direction: 'outbound' | 'inbound',
  port: number,
  remote: RemoteEnd,
  prefixLists: Readonly<Record<string, string[]>>,
): GroupVerdict {
  const rules = groups.flatMap((group) =>
    (direction === 'outbound' ? group.outbound : group.inbound)
      .filter((rule) => carriesTcp(rule.protocol) && covers(rulePorts(rule), [port, port]))
      .map((rule) => ({ group, rule })),
  );
  const toFrom = direction === 'outbound' ? 'to' : 'from';
  const ids = groups.map((g) => g.id).join(', ');

  // A referenced group matches by membership, whatever the address.
  for (const r of rules) {
    const shared = r.rule.groupIds.find((g) => remote.groupIds?.includes(g));
    if (shared) return { verdict: 'open', why: describeRule({ ...r, by: shared }, toFrom) };
  }

  const ranges: { range: Range; match: Match }[] = [];
  const unknownLists: string[] = [];
  for (const r of rules) {
    for (const cidr of r.rule.cidrs) {
      const range = cidrRange(cidr);
      if (range) ranges.push({ range, match: { ...r, by: cidr } });
    }
    for (const pl of r.rule.prefixListIds) {
      const entries = prefixLists[pl];
      if (!entries) unknownLists.push(pl);
      for (const cidr of entries ?? []) {
        const range = cidrRange(cidr);
        if (range) ranges.push({ range, match: { ...r, by: `${pl} (${cidr})` } });
      }
    }
  }
  const parts = cells(
    remote.addresses,
    ranges.map((x) => x.range),
  );
  const decided = parts.map((cell) => ({ cell, match: ranges.find((x) => covers(x.range, cell))?.match }));
  const allowed = decided.filter((d) => d.match);
  const referencesUnknown = remote.groupIds === undefined && rules.some((r) => r.rule.groupIds.length > 0);

  if (allowed.length === decided.length) return { verdict: 'open', why: describeRule(allowed[0]!.match!, toFrom) };
  const what = `${direction} tcp ${port} ${toFrom} ${remote.label}`;
  if (unknownLists.length > 0 || referencesUnknown) {
    const because = unknownLists.length
      ? `the entries of ${unknownLists.join(', ')} could not be read`
      : `${remote.label}'s own security groups are unknown, and ${ids} reference groups`;
    return { verdict: 'unknown', why: `Whether ${ids} allow ${what} is not known: ${because}.` };
  }
  if (allowed.length === 0) return { verdict: 'blocked', why: `No rule of ${ids} allows ${what}.` };
  const open = allowed.map((d) => formatAddresses(d.cell)).join(', ');
  return {
    verdict: remote.precision === 'subnet' ? 'partly' : 'unknown',
    why:
      `${ids} allow ${what} only for ${open} of ${formatAddresses(remote.addresses)}` +
      ' (its exact address is unknown here).',
  };
}
