// Why the bastion cannot reach the database: the path described (src/aws/vpc.ts) and evaluated
// (src/network/path.ts), with each fix given the AWS scope it must run in. `doctor` runs it for every
// database; a tunnel runs it once per database, at the first "Connection to destination port failed".
import type { AwsContext } from '../aws/context.js';
import { describePath, type DescribePathDeps, localResolver } from '../aws/vpc.js';
import { evaluatePath, type Hop, type PathFinding } from '../network/path.js';

export interface PathReport extends PathFinding {
  /** The AWS calls made, round by round. */
  rounds: string[][];
}

export async function diagnosePath(
  aws: AwsContext,
  instanceId: string,
  database: { host: string; port: number },
  opts: { signal?: AbortSignal | undefined; resolver?: DescribePathDeps } = {},
): Promise<PathReport> {
  const described = await describePath(aws, instanceId, database, opts.resolver ?? localResolver, opts.signal);
  const finding = evaluatePath(described.bastion, described.database, described.facts);
  const scope = ['--region', aws.region, ...(aws.profile ? ['--profile', aws.profile] : [])];
  const scoped = (h: Hop): Hop => (h.fix ? { ...h, fix: [...h.fix, ...scope] } : h);
  const hops = finding.hops.map(scoped);
  return {
    ...finding,
    hops,
    blocking: finding.blocking && hops[finding.hops.indexOf(finding.blocking)],
    rounds: described.rounds,
  };
}
