// VPC Reachability Analyzer, as a second opinion on the network check (`doctor --reachability`): a
// path from the bastion's network interface to the database's interface (or address) and port, one
// analysis of it, polled until AWS has an answer; the analysis and the path are deleted again on
// every way out, Ctrl-C included. AWS charges for each analysis: the CLI asks first.
import {
  CreateNetworkInsightsPathCommand,
  DeleteNetworkInsightsAnalysisCommand,
  DeleteNetworkInsightsPathCommand,
  DescribeNetworkInsightsAnalysesCommand,
  type Explanation,
  StartNetworkInsightsAnalysisCommand,
} from '@aws-sdk/client-ec2';
import { TunnelError } from '../errors.js';
import type { ReachabilityAnswer } from '../vpc.js';
import type { AwsContext } from './context.js';
import { describeAwsError } from './errors.js';

/** How long to wait for AWS's answer (an analysis takes about a minute), and between polls. */
export const ANALYSIS_TIMEOUT_MS = 5 * 60_000;
const POLL_MS = { first: 250, max: 5000 };

function resourcesOf(e: Explanation): string[] {
  const parts = [
    e.SecurityGroup,
    e.Acl,
    e.RouteTable,
    e.NetworkInterface,
    e.Subnet,
    e.Vpc,
    e.VpcPeeringConnection,
    e.InternetGateway,
    e.NatGateway,
    e.PrefixList,
    e.Component,
    e.Destination,
  ];
  const ids = parts.flatMap((p) => (p?.Id ? [p.Id] : []));
  if (e.MissingComponent) ids.push(e.MissingComponent);
  for (const g of e.SecurityGroups ?? []) if (g.Id) ids.push(g.Id);
  if (e.AclRule?.RuleNumber !== undefined) ids.push(`rule ${e.AclRule.RuleNumber}`);
  return [...new Set(ids)];
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });

export async function analyzeReachability(
  aws: AwsContext,
  from: { networkInterfaceId: string },
  to: { networkInterfaceId?: string | undefined; ip?: string | undefined; port: number },
  signal: AbortSignal,
  warn: (message: string) => void,
): Promise<ReachabilityAnswer> {
  const ec2 = aws.ec2;
  const where = { profile: aws.profile, region: aws.region };
  let pathId: string | undefined;
  let analysisId: string | undefined;
  try {
    const path = await ec2.send(
      new CreateNetworkInsightsPathCommand({
        Source: from.networkInterfaceId,
        ...(to.networkInterfaceId ? { Destination: to.networkInterfaceId } : { DestinationIp: to.ip }),
        Protocol: 'tcp',
        DestinationPort: to.port,
      }),
    );
    pathId = path.NetworkInsightsPath?.NetworkInsightsPathId;
    if (!pathId) throw new TunnelError('aws', 'Reachability Analyzer created no path.');
    const started = await ec2.send(new StartNetworkInsightsAnalysisCommand({ NetworkInsightsPathId: pathId }));
    analysisId = started.NetworkInsightsAnalysis?.NetworkInsightsAnalysisId;
    if (!analysisId) throw new TunnelError('aws', 'Reachability Analyzer started no analysis.');
    const deadline = Date.now() + ANALYSIS_TIMEOUT_MS;
    for (let wait = POLL_MS.first; ; wait = Math.min(wait * 2, POLL_MS.max)) {
      if (signal.aborted) throw new TunnelError('cancelled', 'Stopped while Reachability Analyzer was working.');
      const out = await ec2.send(
        new DescribeNetworkInsightsAnalysesCommand({ NetworkInsightsAnalysisIds: [analysisId] }),
        { abortSignal: signal },
      );
      const a = out.NetworkInsightsAnalyses?.[0];
      const status = a?.Status ?? 'unknown';
      if (status !== 'running') {
        return {
          found: status === 'succeeded' ? (a?.NetworkPathFound ?? false) : undefined,
          status: a?.StatusMessage ? `${status}: ${a.StatusMessage}` : status,
          explanations: (a?.Explanations ?? []).map((e) => ({
            code: e.ExplanationCode ?? 'UNKNOWN',
            direction: e.Direction,
            resources: resourcesOf(e),
          })),
        };
      }
      if (Date.now() > deadline) {
        throw new TunnelError(
          'aws',
          `Reachability Analyzer gave no answer within ${ANALYSIS_TIMEOUT_MS / 60_000} minutes.`,
        );
      }
      await sleep(wait, signal);
    }
  } catch (e) {
    if (signal.aborted) throw new TunnelError('cancelled', 'Stopped while Reachability Analyzer was working.');
    throw describeAwsError(e, { action: 'run Reachability Analyzer', ...where });
  } finally {
    // Its own calls, not aborted by the signal: what was created goes, however this ends.
    const left = (what: 'analysis' | 'path', id: string, e: unknown) =>
      warn(
        `Could not delete the Reachability Analyzer ${what} ${id} ` +
          `(${describeAwsError(e, { action: `delete ${id}` }).message}): delete it in the VPC console, ` +
          `or with aws ec2 delete-network-insights-${what}.`,
      );
    if (analysisId) {
      const id = analysisId;
      await ec2
        .send(new DeleteNetworkInsightsAnalysisCommand({ NetworkInsightsAnalysisId: id }))
        .catch((e: unknown) => left('analysis', id, e));
    }
    if (pathId) {
      const id = pathId;
      await ec2
        .send(new DeleteNetworkInsightsPathCommand({ NetworkInsightsPathId: id }))
        .catch((e: unknown) => left('path', id, e));
    }
  }
}
