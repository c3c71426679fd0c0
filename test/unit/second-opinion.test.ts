// dbtunnel's finding beside Reachability Analyzer's: every combination of the two answers. Pure.
import { describe, expect, it } from 'vitest';
import type { Hop, HopVerdict, PathFinding } from '../../src/network/path.js';
import { compareWithAws } from '../../src/network/second-opinion.js';
import type { ReachabilityAnswer } from '../../src/vpc.js';

const hop = (step: Hop['step'], verdict: HopVerdict, resources: string[] = []): Hop => ({
  step,
  verdict,
  resources,
  why: '',
});
const finding = (hops: Hop[]): PathFinding =>
  ({ hops, blocking: hops.find((h) => h.verdict === 'blocked'), limits: [] }) as unknown as PathFinding;
const open = [hop('bastion security groups', 'open'), hop('database security groups', 'open', ['sg-db'])];
const sgBlocked = [hop('bastion security groups', 'open'), hop('database security groups', 'blocked', ['sg-db'])];
const noPath = (resources: string[]): ReachabilityAnswer => ({
  found: false,
  status: 'succeeded',
  explanations: [{ code: 'ENI_SG_RULES_MISMATCH', direction: 'ingress', resources }],
});
const path: ReachabilityAnswer = { found: true, status: 'succeeded', explanations: [] };

describe('compareWithAws', () => {
  it.each([
    ['both blocked at the same group', sgBlocked, noPath(['sg-db']), true, /both name sg-db/],
    ['both blocked, AWS names something else', sgBlocked, noPath(['acl-1']), true, /AWS names other resources/],
    [
      'dbtunnel blocked, AWS finds a path',
      sgBlocked,
      path,
      false,
      /disagree: dbtunnel finds the database security groups/,
    ],
    ['both open', open, path, true, /agree: the network lets/],
    ['dbtunnel open, AWS finds none', open, noPath(['acl-1']), false, /disagree: dbtunnel finds every hop open/],
    [
      'dbtunnel unsure (a hop unknown), AWS finds none',
      [hop('bastion security groups', 'open'), hop('route back', 'unknown')],
      noPath([]),
      undefined,
      /among those it could check/,
    ],
    [
      'only the database itself blocked (AWS does not look at RDS): AWS finds a path, they agree on the network',
      [...open, hop('database', 'blocked', ['mydb'])],
      path,
      true,
      /agree/,
    ],
    [
      'AWS has no answer',
      open,
      { found: undefined, status: 'failed: timeout', explanations: [] },
      undefined,
      /Nothing/,
    ],
  ] as [string, Hop[], ReachabilityAnswer, boolean | undefined, RegExp][])(
    '%s',
    (_name, hops, answer, agree, verdict) => {
      const o = compareWithAws(finding(hops), answer);
      expect(o.agree).toBe(agree);
      expect(o.verdict).toMatch(verdict);
    },
  );

  it("AWS's explanations in a line: code, direction, resources", () => {
    expect(compareWithAws(finding(open), noPath(['sg-db', 'eni-1'])).aws).toBe(
      'no path: ENI_SG_RULES_MISMATCH (ingress): sg-db, eni-1',
    );
  });
});
