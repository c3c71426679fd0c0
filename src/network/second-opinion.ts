// dbtunnel's finding beside AWS Reachability Analyzer's: do they agree, and on what. Reachability
// Analyzer checks security groups, network ACLs and routes, not the database itself (an RDS status,
// a port it does not listen on), so a finding of that hop is not compared. Pure.
import type { ReachabilityAnswer } from '../vpc.js';
import type { PathFinding } from './path.js';

export interface SecondOpinion {
  /** undefined: nothing to compare (AWS had no answer, or dbtunnel's finding is uncertain). */
  agree: boolean | undefined;
  /** AWS's answer in a line. */
  aws: string;
  /** What the two say together. */
  verdict: string;
}

export function explanationText(e: ReachabilityAnswer['explanations'][number]): string {
  return `${e.code}${e.direction ? ` (${e.direction})` : ''}${e.resources.length ? `: ${e.resources.join(', ')}` : ''}`;
}

export function compareWithAws(f: PathFinding, answer: ReachabilityAnswer): SecondOpinion {
  if (answer.found === undefined) {
    return { agree: undefined, aws: `no answer (${answer.status})`, verdict: 'Nothing to compare.' };
  }
  const named = answer.explanations.map(explanationText);
  const aws = answer.found ? 'a path exists' : `no path${named.length ? `: ${named.join('; ')}` : ''}`;
  const network = f.hops.filter((h) => h.step !== 'database');
  const blocked = network.find((h) => h.verdict === 'blocked');
  const uncertain = network.some((h) => h.verdict === 'partly' || h.verdict === 'unknown');
  if (blocked && answer.found) {
    return {
      agree: false,
      aws,
      verdict:
        `They disagree: dbtunnel finds the ${blocked.step} (${blocked.resources.join(', ')}) blocking, ` +
        'AWS finds a path. Trust AWS on what it sees; tell the dbtunnel maintainers what dbtunnel got wrong.',
    };
  }
  if (blocked) {
    const awsIds = new Set(answer.explanations.flatMap((e) => e.resources));
    const shared = blocked.resources.filter((r) => awsIds.has(r));
    return {
      agree: true,
      aws,
      verdict: shared.length
        ? `They agree: both name ${shared.join(', ')}.`
        : `They agree there is no path; AWS names other resources than the ${blocked.step}.`,
    };
  }
  if (uncertain) {
    return {
      agree: undefined,
      aws,
      verdict: answer.found
        ? 'AWS finds a path where dbtunnel could not check every hop.'
        : 'AWS finds no path; dbtunnel found no hop blocked among those it could check.',
    };
  }
  return answer.found
    ? { agree: true, aws, verdict: 'They agree: the network lets the bastion reach the database.' }
    : {
        agree: false,
        aws,
        verdict:
          'They disagree: dbtunnel finds every hop open, AWS finds no path. ' +
          'Trust AWS on what it sees; tell the dbtunnel maintainers what dbtunnel got wrong.',
      };
}
