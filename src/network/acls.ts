// Network ACLs, as AWS evaluates them (docs/network-path.md §network ACLs): per subnet, per direction,
// the entries in ascending rule number, the first that matches decides, and what none matches is
// denied (the `*` entry). Stateless: the request and its reply are each checked, leaving one subnet
// and entering the other. An entry matches TCP when its protocol is `6` or `-1`, the remote address
// is in its CIDR, and the destination port is in its range. Pure.
import type { NetworkAcl, NetworkAclEntry } from '../vpc.js';
import { ALL_PORTS, cells, cidrRange, covers, type Range } from './ranges.js';

/** The ports a client picks for its side of a connection, which replies go to (AWS's advice). */
export const EPHEMERAL_PORTS: Range = [1024, 65535];
/** Linux's default (Amazon Linux, Ubuntu): what an SSM agent on a Linux bastion actually uses. */
export const LINUX_EPHEMERAL_PORTS: Range = [32768, 60999];

export function entryCarriesTcp(e: NetworkAclEntry): boolean {
  return e.protocol === '-1' || e.protocol === '6' || e.protocol.toLowerCase() === 'tcp';
}

function entryPorts(e: NetworkAclEntry): Range {
  return e.protocol === '-1' || !e.portRange ? ALL_PORTS : [e.portRange.from, e.portRange.to];
}

export interface AclOutcome {
  /** The deciding entry of each cell of (addresses × ports); undefined is the implicit deny. */
  cells: { addresses: Range; ports: Range; entry: NetworkAclEntry | undefined; allowed: boolean }[];
}

/** Decide TCP to (outbound) or from (inbound) `addresses` on destination `ports`. */
export function aclDecides(acl: NetworkAcl, egress: boolean, addresses: Range, ports: Range): AclOutcome {
  const entries = acl.entries
    .filter((e) => e.egress === egress && entryCarriesTcp(e) && e.cidr !== undefined && cidrRange(e.cidr))
    .sort((a, b) => a.ruleNumber - b.ruleNumber);
  const spans = entries.map((e) => ({ e, addresses: cidrRange(e.cidr!)!, ports: entryPorts(e) }));
  const out: AclOutcome['cells'] = [];
  for (const a of cells(
    addresses,
    spans.map((s) => s.addresses),
  )) {
    for (const p of cells(
      ports,
      spans.map((s) => s.ports),
    )) {
      const first = spans.find((s) => covers(s.addresses, a) && covers(s.ports, p));
      out.push({ addresses: a, ports: p, entry: first?.e, allowed: first?.e.action === 'allow' });
    }
  }
  return { cells: out };
}

/** "rule 90 (deny tcp 3306 from 10.0.1.0/24)", or the `*` entry. */
export function describeEntry(e: NetworkAclEntry | undefined): string {
  if (!e) return 'the final `*` entry (deny all)';
  const proto = e.protocol === '-1' ? 'all traffic' : `tcp ${e.portRange ? portText(e.portRange) : 'all ports'}`;
  return `rule ${e.ruleNumber} (${e.action} ${proto} ${e.egress ? 'to' : 'from'} ${e.cidr})`;
}

const portText = (r: { from: number; to: number }) => (r.from === r.to ? String(r.from) : `${r.from}-${r.to}`);

/**
 * A rule number for a new allow entry that comes before `denying` (the highest free number below
 * it), or undefined when none is free. With no denying entry (the `*` one), the next free number
 * after the highest in use, rounded up to a ten. Pure.
 */
export function freeRuleNumberBefore(acl: NetworkAcl, egress: boolean, denying: NetworkAclEntry | undefined) {
  const used = new Set(acl.entries.filter((e) => e.egress === egress).map((e) => e.ruleNumber));
  if (denying) {
    for (let n = denying.ruleNumber - 1; n >= 1; n--) if (!used.has(n)) return n;
    return undefined;
  }
  const highest = Math.max(0, ...[...used].filter((n) => n < 32767));
  for (let n = Math.ceil((highest + 1) / 10) * 10; n <= 32766; n++) if (!used.has(n)) return n;
  return undefined;
}
