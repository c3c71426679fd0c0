// A path finding in words, for doctor and for a tunnel whose database does not answer: one summary,
// the hops with what each checked, the fix as a command line, and what could not be checked. Pure:
// `paint` is the terminal's.
import { hopFix, hopPlace } from '../network/hop-text.js';
import type { Hop, HopVerdict } from '../network/path.js';
import type { PathReport } from '../tunnel/network-check.js';
import type { Style } from './terminal.js';

export interface PathText {
  summary: string;
  hops: string[];
  /** The command (or advice) that opens the blocking hop. */
  fix: string | undefined;
  limits: string[];
}

const MARKS: Record<HopVerdict, [Style, string]> = {
  open: ['green', '✔'],
  blocked: ['red', '✖'],
  partly: ['yellow', '⚠'],
  unknown: ['dim', '–'],
};

const STEP_WIDTH = 28;

export function hopLine(h: Hop, paint: (s: Style, t: string) => string): string {
  const [style, mark] = MARKS[h.verdict];
  const why = h.verdict === 'unknown' ? `not known: ${h.why}` : h.why;
  return `${paint(style, mark)} ${h.step.padEnd(STEP_WIDTH)} ${why}`;
}

export function pathText(r: PathReport, db: string, paint: (s: Style, t: string) => string = (_s, t) => t): PathText {
  const to = `${r.database.host}${r.database.ip && r.database.ip !== r.database.host ? ` (${r.database.ip})` : ''}`;
  const b = r.blocking;
  const where = b ? hopPlace(b) : '';
  const unknown = r.hops.filter((h) => h.verdict === 'unknown').length;
  const refusing =
    'The database itself may be refusing: not listening on that port, a firewall on its host, or too many connections.';
  const summary = !b
    ? unknown === 0
      ? `${db}: every hop from the bastion ${r.bastion.instanceId} (${r.bastion.privateIp}) to ${to}:` +
        `${r.database.port} is open. ${refusing}`
      : `${db}: no hop from the bastion ${r.bastion.instanceId} (${r.bastion.privateIp}) to ${to}:` +
        `${r.database.port} is blocked, but ${unknown} could not be checked (below). ${refusing}`
    : b.verdict === 'blocked'
      ? `${db}: blocked at the ${where}. ${b.why}`
      : `${db}: may be blocked at the ${where}. ${b.why}`;
  return {
    summary,
    hops: r.hops.map((h) => hopLine(h, paint)),
    fix: b && hopFix(b),
    limits: r.limits,
  };
}
