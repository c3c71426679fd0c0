// A hop of the path in words, for doctor, a tunnel's warning and the logs. Apart from the evaluator
// (path.ts), which a tunnel loads only when a database does not answer. Pure.
import { commandLine } from '../shell-quote.js';
import type { Hop } from './path.js';

/** Its step and the resources it checked: "database security groups (sg-1)". */
export function hopPlace(h: Hop): string {
  return `${h.step}${h.resources.length ? ` (${h.resources.join(', ')})` : ''}`;
}

/** What opens it: its command as a bash line, or its advice. */
export function hopFix(h: Hop): string | undefined {
  return h.fix ? commandLine('bash', h.fix) : h.advice;
}
