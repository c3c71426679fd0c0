// `dbtunnel doctor`: every check a tunnel depends on, without opening one. Each check is a value
// (pass, warn, fail or skip, with the fix); the CLI prints them as they come.
import { findBastion, type Bastion } from '../aws/bastion.js';
import type { AwsContext } from '../aws/context.js';
import { describeAwsError } from '../aws/errors.js';
import { simulatePrincipalPolicy, whoAmI } from '../aws/identity.js';
import { managedInstances } from '../aws/managed-instances.js';
import type { EnvironmentPlan, SessionClientChoice } from '../model.js';
import { TunnelError, type ErrorKind } from '../errors.js';
import { formatStatements, policyHolder } from '../iam/explain.js';
import { grantFor, tunnelRequests, type Caller, type TunnelScope } from '../iam/requests.js';
import { compareVersions, judgePluginVersion, parseVersion, RECOMMENDED_MIN_VERSION } from '../plugin/version.js';
import { hopFix, hopPlace } from '../network/hop-text.js';
import { compareWithAws } from '../network/second-opinion.js';
import type { ReachabilityAnswer } from '../vpc.js';
import type { PathReport } from './network-check.js';
import { chooseLocalPort } from './port.js';

export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  check: string;
  status: CheckStatus;
  detail: string;
  /** What to do, for warn and fail. */
  fix?: string | undefined;
  /** For fail: the kind of error, which decides the exit code. */
  kind?: ErrorKind;
  /** The network check: the path hop by hop. */
  path?: PathReport | undefined;
}

export interface DoctorDeps {
  findPlugin(): Promise<string>;
  pluginVersion(file: string): Promise<string>;
  /** The region alone (no credentials, no network). */
  resolveRegion(): Promise<string>;
  /** --region was given (the region row says where it came from). */
  regionFlag?: boolean;
  connectAws(): Promise<AwsContext>;
  /** Why the bastion cannot reach a database (tunnel/network-check.ts). */
  diagnosePath(aws: AwsContext, instanceId: string, database: { host: string; port: number }): Promise<PathReport>;
  /** AWS Reachability Analyzer on the same path (`--reachability`); absent: not asked for. */
  reachability?: ((aws: AwsContext, report: PathReport) => Promise<ReachabilityAnswer>) | undefined;
}

/**
 * The first agent that forwards to another host (AWS-StartPortForwardingSessionToRemoteHost), from the
 * agent's release notes. Every such agent also multiplexes (basic mode ended with 3.0.196.0).
 */
export const FIRST_REMOTE_HOST_AGENT = '3.1.1188.0';

function failed(check: string, e: unknown): CheckResult {
  const err = e instanceof TunnelError ? e : new TunnelError('internal', String((e as Error)?.message ?? e));
  return { check, status: 'fail', detail: [err.message, ...err.details].join(' '), fix: err.hint, kind: err.kind };
}

export async function* runDoctor(
  plan: EnvironmentPlan,
  configName: string,
  deps: DoctorDeps,
): AsyncGenerator<CheckResult> {
  yield {
    check: 'config',
    status: 'pass',
    detail: `${configName}: environment ${plan.env}, ${plan.tunnels.map((t) => t.db).join(', ')}`,
  };

  yield await pluginCheck(plan.sessionClient ?? 'auto', deps);

  // The region first: it needs no credentials (and credentials need a region).
  let region: string;
  try {
    region = await deps.resolveRegion();
    const from = plan.region ? (deps.regionFlag ? '--region' : 'the config') : 'AWS_REGION or the AWS profile';
    yield { check: 'region', status: 'pass', detail: `${region} (from ${from})` };
  } catch (e) {
    yield failed('region', e);
    for (const c of ['credentials', 'bastion', 'session manager', 'agent version', 'network'])
      yield { check: c, status: 'skip', detail: 'needs a region' };
    yield* portChecks(plan);
    yield { check: 'permissions', status: 'skip', detail: 'needs a region' };
    return;
  }

  let aws: AwsContext;
  let caller: Caller;
  try {
    aws = await deps.connectAws();
    caller = await whoAmI(aws);
    yield {
      check: 'credentials',
      status: 'pass',
      detail: `${caller.arn}${aws.profile ? ` (profile ${aws.profile})` : ''}`,
    };
  } catch (e) {
    yield failed('credentials', e);
    for (const c of ['bastion', 'session manager', 'agent version', 'network'])
      yield { check: c, status: 'skip', detail: 'needs credentials' };
    yield* portChecks(plan);
    yield { check: 'permissions', status: 'skip', detail: 'needs credentials' };
    return;
  }

  let bastion: Bastion | undefined;
  try {
    bastion = await findBastion(aws, plan.bastion, () => {});
    const name = Object.entries(bastion.tags)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ');
    yield {
      check: 'bastion',
      status: 'pass',
      detail: `${bastion.instanceId}${name ? ` (${name})` : ''}: ${bastion.why}`,
    };
  } catch (e) {
    yield failed('bastion', e);
  }

  if (bastion) {
    yield* sessionManagerChecks(aws, bastion.instanceId);
    yield* pathChecks(aws, bastion.instanceId, plan, deps);
  } else {
    for (const c of ['session manager', 'agent version', 'network'])
      yield { check: c, status: 'skip', detail: 'no bastion' };
  }

  yield* portChecks(plan);

  const scope: TunnelScope = {
    region: aws.region,
    account: caller.account,
    bastion: plan.bastion,
    instanceId: bastion?.instanceId,
    instanceTags: bastion?.tags,
  };
  yield* permissionChecks(aws, caller, scope);
}

async function* sessionManagerChecks(aws: AwsContext, instanceId: string): AsyncGenerator<CheckResult> {
  try {
    const info = (await managedInstances(aws, [instanceId])).find((i) => i.instanceId === instanceId);
    if (!info) {
      yield {
        check: 'session manager',
        status: 'fail',
        detail: `${instanceId} is not a managed node of Session Manager`,
        fix:
          'Its SSM agent must run, with an instance profile that allows Session ' +
          'Manager (AmazonSSMManagedInstanceCore), and reach the ssm endpoints.',
        kind: 'targetNotConnected',
      };
      yield { check: 'agent version', status: 'skip', detail: 'not managed' };
      return;
    }
    yield info.pingStatus === 'Online'
      ? { check: 'session manager', status: 'pass', detail: `${instanceId} is Online` }
      : {
          check: 'session manager',
          status: 'fail',
          detail: `${instanceId} is ${info.pingStatus ?? 'not Online'}`,
          fix:
            'The SSM agent is not reporting: check that it runs and reaches the ' +
            'ssm/ssmmessages endpoints (a bastion that just booted needs a minute).',
          kind: 'targetNotConnected',
        };
    const agent = info.agentVersion ?? '';
    const old =
      parseVersion(agent) && compareVersions(parseVersion(agent)!, parseVersion(FIRST_REMOTE_HOST_AGENT)!) < 0;
    yield old
      ? {
          check: 'agent version',
          status: 'warn',
          detail: `SSM agent ${agent}: older than ${FIRST_REMOTE_HOST_AGENT}, the first to forward to another host`,
          fix:
            `Update the SSM agent on the bastion (${FIRST_REMOTE_HOST_AGENT} or newer): ` +
            'tunnels to a database need it.',
        }
      : { check: 'agent version', status: 'pass', detail: `SSM agent ${agent || 'unknown'}` };
  } catch (e) {
    const err = e instanceof TunnelError ? e : describeAwsError(e, { action: 'ask Session Manager about the bastion' });
    const skip = err.kind === 'accessDenied';
    yield skip
      ? { check: 'session manager', status: 'skip', detail: 'not allowed to call ssm:DescribeInstanceInformation' }
      : failed('session manager', err);
    yield { check: 'agent version', status: 'skip', detail: 'unknown' };
  }
}

/** The path to every database, looked at concurrently, reported in the config's order. */
async function* pathChecks(
  aws: AwsContext,
  instanceId: string,
  plan: EnvironmentPlan,
  deps: DoctorDeps,
): AsyncGenerator<CheckResult> {
  // Every database at once; AWS's analysis of each starts as soon as dbtunnel's finding is in.
  const looks = plan.tunnels.map((t) =>
    deps.diagnosePath(aws, instanceId, { host: t.host, port: t.port }).then(
      (report) => ({
        report,
        // Held as a value until its turn comes: a rejection must not go unhandled meanwhile.
        second:
          deps.reachability && secondOpinion(aws, report, deps.reachability).catch((thrown: unknown) => ({ thrown })),
      }),
      (error: unknown) => ({ error }),
    ),
  );
  for (const [i, look] of looks.entries()) {
    const db = plan.tunnels[i]!.db;
    const r = await look;
    if ('error' in r) {
      const err = r.error instanceof TunnelError ? r.error : describeAwsError(r.error, { action: 'describe the path' });
      yield { check: 'network', status: 'skip', detail: `${db}: could not look at the path: ${err.message}` };
      continue;
    }
    const { report } = r;
    const b = report.blocking;
    if (!b) {
      const unknown = report.hops.filter((h) => h.verdict === 'unknown').length;
      yield {
        check: 'network',
        status: 'pass',
        detail:
          `${db}: ${report.bastion.privateIp} → ${report.database.ip ?? report.database.host}:` +
          `${report.database.port}, ${unknown ? `no hop blocked (${unknown} not checked)` : 'every hop open'}`,
        path: report,
      };
      if (r.second) yield forDatabase(db, await r.second);
      continue;
    }
    const fix = hopFix(b);
    yield {
      check: 'network',
      status: b.verdict === 'blocked' ? 'fail' : 'warn',
      detail: `${db}: ${b.verdict === 'blocked' ? 'blocked' : 'may be blocked'} at the ${hopPlace(b)}. ${b.why}`,
      ...(fix ? { fix } : {}),
      ...(b.verdict === 'blocked' ? { kind: 'networkBlocked' as const } : {}),
      path: report,
    };
    if (r.second) yield forDatabase(db, await r.second);
  }
}

function forDatabase(db: string, r: CheckResult | { thrown: unknown }): CheckResult {
  if ('thrown' in r) throw r.thrown;
  return { ...r, detail: `${db}: ${r.detail}` };
}

/** Reachability Analyzer's answer beside dbtunnel's, as a check; Ctrl-C while it works stops doctor. */
async function secondOpinion(
  aws: AwsContext,
  report: PathReport,
  ask: (aws: AwsContext, report: PathReport) => Promise<ReachabilityAnswer>,
): Promise<CheckResult> {
  const check = 'reachability';
  if (!report.bastion.networkInterfaceId) {
    return { check, status: 'skip', detail: "the bastion's network interface is unknown" };
  }
  let answer: ReachabilityAnswer;
  try {
    answer = await ask(aws, report);
  } catch (e) {
    const err = e instanceof TunnelError ? e : describeAwsError(e, { action: 'run Reachability Analyzer' });
    if (err.kind === 'cancelled') throw err;
    return {
      check,
      status: 'warn',
      detail: `Reachability Analyzer: ${err.message}`,
      ...(err.kind === 'accessDenied' ? { fix: 'It needs the permissions `dbtunnel policy` lists for it.' } : {}),
    };
  }
  const o = compareWithAws(report, answer);
  return {
    check,
    status: o.agree === true ? 'pass' : 'warn',
    detail: `AWS Reachability Analyzer: ${o.aws}. ${o.verdict}`,
  };
}

/** The plugin, as the session client choice needs it: not at all (native), or found and recent enough. */
async function pluginCheck(choice: SessionClientChoice, deps: DoctorDeps): Promise<CheckResult> {
  const check = 'plugin';
  if (choice === 'native') {
    return { check, status: 'pass', detail: "not needed: dbtunnel's own session client (sessionClient: native)" };
  }
  try {
    const file = await deps.findPlugin();
    const version = await deps.pluginVersion(file);
    const verdict = judgePluginVersion(version, false);
    const old = compareVersions(parseVersion(version) ?? [0], parseVersion(RECOMMENDED_MIN_VERSION)!) < 0;
    const detail = `session-manager-plugin ${version} (${file})`;
    return old ? { check, status: 'warn', detail, fix: verdict.warning } : { check, status: 'pass', detail };
  } catch (e) {
    if (choice === 'auto' && e instanceof TunnelError && e.kind === 'pluginMissing') {
      return {
        check,
        status: 'warn',
        detail: "session-manager-plugin is not installed: dbtunnel's own session client will carry the tunnels",
        fix: "Nothing to do; install the plugin to use AWS's own client (sessionClient: plugin to insist on it).",
      };
    }
    // Its own subject only: "nothing was started" is for a tunnel, not for a check.
    return { ...failed(check, e), detail: e instanceof TunnelError ? e.message : String(e) };
  }
}

async function* portChecks(plan: EnvironmentPlan): AsyncGenerator<CheckResult> {
  const reserved = new Set<number>();
  for (const t of plan.tunnels) {
    try {
      const choice = await chooseLocalPort(t, reserved);
      reserved.add(choice.port);
      const detail =
        choice.why === 'config'
          ? `${t.db}: ${choice.port} is free`
          : choice.why === 'database-port'
            ? `${t.db}: ${choice.port} (the database's port) is free`
            : `${t.db}: ${t.localPort === 0 ? '' : `${t.port} is taken here; `}the system will pick a port`;
      yield { check: 'local port', status: 'pass', detail };
    } catch (e) {
      yield failed('local port', e);
    }
  }
}

/** iam:SimulatePrincipalPolicy, one call per request: context entries apply to a whole call. */
async function* permissionChecks(aws: AwsContext, caller: Caller, scope: TunnelScope): AsyncGenerator<CheckResult> {
  const source = policyHolder(caller.arn);
  const variables = { 'aws:userid': caller.userId, ...(caller.username ? { 'aws:username': caller.username } : {}) };
  const shown = new Set<string>();
  const asked = new Set<string>();
  for (const r of tunnelRequests(scope, caller)) {
    // The same call for two purposes (DescribeInstances finds the bastion and places it) is asked once.
    const key = JSON.stringify([r.action, r.resource, r.context]);
    if (asked.has(key)) continue;
    asked.add(key);
    let decision: string | undefined;
    try {
      decision = await simulatePrincipalPolicy(aws, {
        source,
        action: r.action,
        resource: r.resource,
        context: { ...variables, ...r.context },
      });
    } catch (e) {
      const err = e instanceof TunnelError ? e : describeAwsError(e, { action: 'simulate your IAM policies' });
      yield {
        check: 'permissions',
        status: 'skip',
        detail:
          err.kind === 'accessDenied'
            ? `not allowed to call iam:SimulatePrincipalPolicy on ${source} (common for SSO users)`
            : `could not simulate: ${err.message}`,
        fix: '`dbtunnel policy check <env> --policy FILE` checks policy files offline instead.',
      };
      return;
    }
    const what = `${r.action} on ${r.resource}`;
    if (decision === 'allowed') {
      yield { check: 'permissions', status: 'pass', detail: what };
      continue;
    }
    const explicit = decision === 'explicitDeny';
    const statements = formatStatements(grantFor(r.id, scope, caller.arn)).join('\n');
    const fix = explicit
      ? 'An explicit Deny applies: no Allow can fix it; whoever manages your policies must change it.'
      : shown.has(statements)
        ? 'The statement above allows this too.'
        : `Add to the policy of ${source}:\n${statements}`;
    shown.add(statements);
    yield {
      check: 'permissions',
      status: r.required ? 'fail' : 'warn',
      detail: `${what} is ${explicit ? 'explicitly denied' : 'not allowed'}${optional(r)}`,
      fix,
      ...(r.required ? { kind: 'accessDenied' as const } : {}),
    };
  }
}

const optional = (r: { required: boolean; why: string }) => (r.required ? '' : ` (optional: ${r.why})`);
