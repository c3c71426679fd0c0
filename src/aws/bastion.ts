// Finding the bastion: EC2 DescribeInstances by tag, one round trip for every state we care about,
// then a choice made by a pure function so its rules are table-tested.
import { DescribeInstancesCommand, type Filter, type Instance } from '@aws-sdk/client-ec2';
import { TunnelError } from '../errors.js';
import { commandLine, posixQuote } from '../shell-quote.js';
import type { BastionQuery } from '../model.js';
import type { AwsContext } from './context.js';
import { describeAwsError } from './errors.js';
import { managedInstances } from './managed-instances.js';

export interface InstanceSummary {
  instanceId: string;
  state: string;
  launchTime: Date | undefined;
  tags: Record<string, string>;
}

export interface Bastion {
  instanceId: string;
  /** Its tags as EC2 reported them; empty when the instance id came from the config or --instance. */
  tags: Record<string, string>;
  /** Why this one, in a sentence. */
  why: string;
  /** When it was launched, when the lookup said (a bastion that just booted needs a minute). */
  launchTime?: Date | undefined;
}

/** States worth reporting when nothing is running ("it is stopped"); terminated ones are noise. */
const LOOKUP_STATES = ['pending', 'running', 'stopping', 'stopped'];

export function describeQuery(q: Exclude<BastionQuery, { kind: 'instance' }>): string {
  const tags = q.kind === 'name' ? { Name: q.name } : q.tags;
  return Object.entries(tags)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
}

/** EC2 filters for a bastion query. Pure. */
export function bastionFilters(q: Exclude<BastionQuery, { kind: 'instance' }>): Filter[] {
  const tags = q.kind === 'name' ? { Name: q.name } : q.tags;
  return [
    ...Object.entries(tags).map(([k, v]) => ({ Name: `tag:${k}`, Values: [v] })),
    { Name: 'instance-state-name', Values: LOOKUP_STATES },
  ];
}

export function summarize(instances: Instance[]): InstanceSummary[] {
  return instances
    .filter((i) => i.InstanceId)
    .map((i) => ({
      instanceId: i.InstanceId!,
      state: i.State?.Name ?? 'unknown',
      launchTime: i.LaunchTime,
      tags: Object.fromEntries((i.Tags ?? []).filter((t) => t.Key !== undefined).map((t) => [t.Key!, t.Value ?? ''])),
    }));
}

/**
 * Which instance to use. Several running: those SSM reports Online first (when known), then the
 * newest launch. Pure.
 */
export function chooseBastion(
  query: string,
  instances: InstanceSummary[],
  online: Set<string> | undefined,
  scope: { region: string; profile: string | undefined },
): Bastion {
  const where = `${scope.region}${scope.profile ? ` (profile ${scope.profile})` : ''}`;
  const cliScope = commandLine('bash', [
    '--region',
    scope.region,
    ...(scope.profile ? ['--profile', scope.profile] : []),
  ]);
  const running = instances.filter((i) => i.state === 'running');
  if (running.length === 0) {
    const others = instances.map((i) => `${i.instanceId} (${i.state})`);
    const pending = instances.some((i) => i.state === 'pending');
    throw new TunnelError('bastionNotFound', `No running instance is tagged ${query} in ${where}.`, {
      details: others.length ? [`Tagged so, but not running: ${others.join(', ')}`] : [],
      hint: pending
        ? 'It is starting: try again in a minute.'
        : others.length
          ? `Start it: aws ec2 start-instances --instance-ids ${posixQuote(instances[0]!.instanceId)} ${cliScope}`
          : 'Check the tag in the config (it is case-sensitive), the region and the AWS account (profile).',
    });
  }
  const newestFirst = [...running].sort((a, b) => (b.launchTime?.getTime() ?? 0) - (a.launchTime?.getTime() ?? 0));
  if (running.length === 1) return pick(running[0]!, `the only running instance tagged ${query}`);
  const onlineOnes = online ? newestFirst.filter((i) => online.has(i.instanceId)) : [];
  if (onlineOnes.length === 1) {
    return pick(
      onlineOnes[0]!,
      `${running.length} running instances are tagged ${query}; the only one Session Manager reports Online`,
    );
  }
  if (onlineOnes.length > 1) {
    return pick(
      onlineOnes[0]!,
      `${running.length} running instances are tagged ${query}; ` +
        `${onlineOnes.length} are Online, this one launched last`,
    );
  }
  const note = online ? 'none is Online in Session Manager' : 'Online status unknown';
  return pick(
    newestFirst[0]!,
    `${running.length} running instances are tagged ${query} (${note}); this one launched last`,
  );
}

function pick(i: InstanceSummary, why: string): Bastion {
  return { instanceId: i.instanceId, tags: i.tags, why, launchTime: i.launchTime };
}

export async function findBastion(aws: AwsContext, q: BastionQuery, warn: (m: string) => void): Promise<Bastion> {
  if (q.kind === 'instance') {
    return {
      instanceId: q.instanceId,
      tags: {},
      why: q.from === '--instance' ? 'given with --instance' : 'instanceId in the config',
    };
  }
  const query = describeQuery(q);
  let instances: InstanceSummary[];
  try {
    const out = await aws.ec2.send(new DescribeInstancesCommand({ Filters: bastionFilters(q) }));
    instances = summarize((out.Reservations ?? []).flatMap((r) => r.Instances ?? []));
  } catch (e) {
    throw describeAwsError(e, {
      action: `look up the bastion tagged ${query}`,
      profile: aws.profile,
      region: aws.region,
    });
  }
  const running = instances.filter((i) => i.state === 'running');
  let online: Set<string> | undefined;
  if (running.length > 1)
    online = await onlineInstances(
      aws,
      running.map((i) => i.instanceId),
      warn,
    );
  return chooseBastion(query, instances, online, { region: aws.region, profile: aws.profile });
}

/** Instance ids Session Manager reports Online; undefined when we may not ask. */
async function onlineInstances(
  aws: AwsContext,
  ids: string[],
  warn: (m: string) => void,
): Promise<Set<string> | undefined> {
  try {
    return new Set(
      (await managedInstances(aws, ids)).filter((i) => i.pingStatus === 'Online').map((i) => i.instanceId),
    );
  } catch (e) {
    const err = describeAwsError(e, {
      action: 'ask which bastion is Online',
      profile: aws.profile,
      region: aws.region,
    });
    warn(
      err.kind === 'accessDenied'
        ? 'Not allowed to call ssm:DescribeInstanceInformation: choosing ' +
            'among the bastions without knowing which are Online.'
        : `Could not ask which bastion is Online (${err.message}): choosing without it.`,
    );
    return undefined;
  }
}
