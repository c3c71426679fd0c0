// One run of `dbtunnel <env> <db…>`, top to bottom: preflight (plugin, local ports, bastion, all at
// once), a session and a plugin per database, hold, and close — with every session terminated and
// every plugin stopped on every path out of here.
import type { Bastion } from '../aws/bastion.js';
import type { AwsContext } from '../aws/context.js';
import { portForwardingRequest } from '../aws/session.js';
import { explainIfDenied, formatStatements } from '../iam/explain.js';
import { grantFor, type TunnelScope } from '../iam/requests.js';
import type { EnvironmentPlan, TunnelSpec } from '../config/resolve.js';
import type { Engine } from '../config/schema.js';
import { TunnelError } from '../errors.js';
import { buildPluginInvocation, RESPONSE_ENV } from '../plugin/argv.js';
import type { PluginEvent } from '../plugin/output.js';
import type { PluginExit } from '../plugin/process.js';
import type { PluginVerdict } from '../plugin/version.js';
import {
  boundAddress,
  chooseLocalPort,
  portInUseError,
  systemPickedPort,
  type LocalPortChoice,
  type Loopback,
} from './port.js';

export interface OpenTunnel {
  env: string;
  db: string;
  host: string;
  port: number;
  localPort: number;
  /** The loopback address the plugin bound, found without connecting. */
  address: Loopback | undefined;
  sessionId: string;
  target: string;
  engine?: Engine | undefined;
}

export type TunnelEvent =
  | { type: 'warning'; message: string }
  | { type: 'debug'; message: string }
  | { type: 'progress'; message: string }
  | { type: 'bastion'; bastion: Bastion; region: string; profile: string | undefined }
  | { type: 'ready'; tunnel: OpenTunnel }
  | { type: 'destination-failed'; tunnel: OpenTunnel }
  | { type: 'failed'; spec: TunnelSpec; error: TunnelError }
  | { type: 'ended'; tunnel: OpenTunnel; text: string; cause: 'aws' | 'failure' }
  | { type: 'reconnecting'; tunnel: OpenTunnel; attempt: number; delayMs: number }
  | { type: 'all-ready'; tunnels: OpenTunnel[] }
  | { type: 'closing'; reason: string };

/** Why the hold ended. */
export type StopReason = 'SIGINT' | 'SIGTERM' | 'SIGHUP' | 'crash';

export type RunOutcome =
  | { kind: 'stopped'; reason: StopReason }
  | { kind: 'ended'; tunnels: OpenTunnel[] }
  | { kind: 'done'; result: number };

export interface PluginSetup {
  file: string;
  verdict: PluginVerdict;
}

/** The edges a run talks to; the CLI gives the real ones, nothing here touches the terminal. */
export interface RunDeps {
  preparePlugin(): Promise<PluginSetup>;
  connectAws(): Promise<AwsContext>;
  findBastion(aws: AwsContext): Promise<Bastion>;
  startSession: typeof import('../aws/session.js').startSession;
  terminateSession: typeof import('../aws/session.js').terminateSession;
  spawnPlugin: typeof import('../plugin/process.js').spawnPlugin;
}

export interface RunOptions {
  plan: EnvironmentPlan;
  /** Spawn to "Port N opened". */
  startTimeoutMs: number;
  env: NodeJS.ProcessEnv;
  /** Aborted with a StopReason when the user (or a signal) asks to stop. */
  signal: AbortSignal;
  onEvent: (e: TunnelEvent) => void;
  /**
   * Runs once every tunnel is ready (e.g. a `--` command); the tunnels close when it resolves, and
   * its value is the outcome. Without it, the tunnels are held until a signal or their end.
   */
  whileOpen?: ((tunnels: OpenTunnel[]) => Promise<number>) | undefined;
  /** What to do when a session ends without being asked to. Default: nothing. */
  reconnect?: ReconnectPolicy | undefined;
}

interface Live {
  spec: TunnelSpec;
  sessionId: string;
  plugin?: import('../plugin/process.js').RunningPlugin;
  tunnel?: OpenTunnel;
  /** The plugin exited without being asked to: it may not have told the agent. */
  exitedOnItsOwn?: boolean;
  terminated?: boolean;
  /** What the plugin said when the session ended. */
  endText?: string;
  /** For explaining a refused TerminateSession. */
  scope: TunnelScope;
}

export async function runTunnels(opts: RunOptions, deps: RunDeps): Promise<RunOutcome> {
  const { plan, signal, onEvent } = opts;
  const live: Live[] = [];
  let aws: AwsContext | undefined;
  /** Set once we close the tunnels ourselves: a plugin exiting then has not "ended on its own". */
  let closing = false;
  try {
    // 1. Preflight, concurrently; nothing exists on AWS's side yet.
    onEvent({ type: 'progress', message: `Finding the bastion for ${plan.env}` });
    const awsReady = deps.connectAws();
    const [pluginR, portsR, bastionR] = await Promise.allSettled([
      deps.preparePlugin(),
      reserveLocalPorts(plan.tunnels),
      awsReady.then(async (a) => {
        try {
          return { aws: a, bastion: await deps.findBastion(a) };
        } catch (e) {
          throw await withDecodedMessage(
            explainIfDenied(e, { region: a.region, account: undefined, bastion: plan.bastion }),
            a,
            onEvent,
          );
        }
      }),
    ]);
    // Report the cheapest fix first: a missing plugin, then a busy port, then AWS.
    for (const r of [pluginR, portsR, bastionR]) if (r.status === 'rejected') throw r.reason;
    const plugin = (pluginR as PromiseFulfilledResult<PluginSetup>).value;
    const ports = (portsR as PromiseFulfilledResult<LocalPortChoice[]>).value;
    const found = (bastionR as PromiseFulfilledResult<{ aws: AwsContext; bastion: Bastion }>).value;
    aws = found.aws;
    if (plugin.verdict.warning) onEvent({ type: 'warning', message: plugin.verdict.warning });
    onEvent({ type: 'bastion', bastion: found.bastion, region: aws.region, profile: aws.profile });
    if (signal.aborted) return { kind: 'stopped', reason: signal.reason as StopReason };

    // 2. A session and a plugin per database, all at once.
    const results = await Promise.allSettled(
      plan.tunnels.map((spec, i) =>
        openWithFallback(spec, ports[i]!, { bastion: found.bastion, plugin, aws: aws!, live, opts, deps }),
      ),
    );
    if (signal.aborted) return { kind: 'stopped', reason: signal.reason as StopReason };
    const failures = results.flatMap((r, i) =>
      r.status === 'rejected' ? [{ spec: plan.tunnels[i]!, error: r.reason }] : [],
    );
    if (failures.length === results.length) throw failures[0]!.error;
    for (const f of failures) {
      onEvent({ type: 'failed', spec: f.spec, error: f.error instanceof TunnelError ? f.error : internal(f.error) });
    }

    // 3. Hold until asked to stop, or until every tunnel has ended for good (reconnecting as the
    // mode says in between).
    const open = live.filter((l) => l.tunnel && l.plugin);
    const ctx: OpenContext = { bastion: found.bastion, plugin, aws, live, opts, deps };
    const allEnded = Promise.all(open.map((l) => keepOpen(l, ctx, () => closing)));
    const stopped = new Promise<StopReason>((resolve) => {
      if (signal.aborted) resolve(signal.reason as StopReason);
      signal.addEventListener('abort', () => resolve(signal.reason as StopReason), { once: true });
    });
    onEvent({ type: 'all-ready', tunnels: open.map((l) => l.tunnel!) });
    if (opts.whileOpen) {
      // The command decides; a tunnel that ends meanwhile is reported, and the command goes on.
      void allEnded;
      const result = await opts.whileOpen(open.map((l) => l.tunnel!));
      closing = true;
      return { kind: 'done', result };
    }
    const first = await Promise.race([allEnded.then(() => 'ended' as const), stopped]);
    if (first === 'ended') return { kind: 'ended', tunnels: open.map((l) => l.tunnel!) };
    return { kind: 'stopped', reason: first };
  } finally {
    closing = true;
    if (live.some((l) => !l.terminated)) {
      onEvent({ type: 'closing', reason: signal.aborted ? String(signal.reason) : 'done' });
      await Promise.all(live.map((l) => closeOne(l, aws!, deps, onEvent)));
    }
  }
}

function internal(e: unknown): TunnelError {
  return new TunnelError('internal', e instanceof Error ? e.message : String(e), { cause: e });
}

function endText(l: Live): string {
  return l.endText ?? 'session-manager-plugin exited';
}

/** Local ports for every tunnel of the run, decided before anything starts. */
async function reserveLocalPorts(specs: TunnelSpec[]): Promise<LocalPortChoice[]> {
  const reserved = new Set<number>();
  const out: LocalPortChoice[] = [];
  // Explicit ports first, so a default never takes a port another database asked for.
  for (const s of specs) if (s.localPort) reserved.add(s.localPort);
  for (const s of specs) {
    const choice = await chooseLocalPort(s, new Set([...reserved].filter((p) => p !== s.localPort)));
    reserved.add(choice.port);
    out.push(choice);
  }
  return out;
}

/**
 * A default local port was free when checked but taken by the time the plugin bound it (another
 * tunnel starting at the same moment): a default means "whatever is free", so start again on a
 * port the system picks. A configured port stays an error.
 */
async function openWithFallback(spec: TunnelSpec, choice: LocalPortChoice, run: OpenContext): Promise<void> {
  try {
    await openOne(spec, choice.port, run);
  } catch (e) {
    if (!(e instanceof TunnelError && e.kind === 'portInUse') || choice.why === 'config' || run.opts.signal.aborted)
      throw e;
    const failed = run.live.find((l) => l.spec === spec && !l.terminated);
    if (failed) await closeOne(failed, run.aws, run.deps, run.opts.onEvent);
    const port = await systemPickedPort();
    run.opts.onEvent({
      type: 'debug',
      message: `local port ${choice.port} was taken while ${spec.db} started; starting again on ${port}`,
    });
    await openOne(spec, port, run);
  }
}

/** What every tunnel of one run shares. */
interface OpenContext {
  bastion: Bastion;
  plugin: PluginSetup;
  aws: AwsContext;
  live: Live[];
  opts: RunOptions;
  deps: RunDeps;
}

/** Launched less than five minutes ago. */
function justBooted(b: Bastion, now = Date.now()): boolean {
  return b.launchTime !== undefined && now - b.launchTime.getTime() < 5 * 60_000;
}

/** Waits between StartSession attempts on a bastion that just booted: 2 s, 4 s, 8 s, then give up. Pure. */
export function bootRetryMs(attempt: number): number | undefined {
  return attempt <= 3 ? 1000 * 2 ** attempt : undefined;
}

export type ReconnectMode = 'always' | 'on-failure' | 'never';

export interface ReconnectPolicy {
  mode: ReconnectMode;
  /** Attempts per outage; the count resets once a session has lived a minute. */
  maxAttempts: number;
}

/** How a session ended: AWS ended it (idle or maximum duration, terminated elsewhere), or it failed. Pure. */
export function endCause(text: string | undefined, exit: PluginExit): 'aws' | 'failure' {
  if (text && !/timed out\.?$/.test(text) && exit.code === 0 && !exit.signal) return 'aws';
  return 'failure';
}

/** 1 s, 2 s, 4 s … capped at 30 s. Pure. */
export function backoffMs(attempt: number): number {
  return Math.min(30_000, 1000 * 2 ** Math.max(0, attempt - 1));
}

export function shouldReconnect(mode: ReconnectMode, cause: 'aws' | 'failure'): boolean {
  return mode === 'always' || (mode === 'on-failure' && cause === 'failure');
}

const LIVED_LONG_ENOUGH_MS = 60_000;

/** One tunnel, from its first session to its last: each drop reported, then reconnected or not. */
async function keepOpen(first: Live, ctx: OpenContext, closing: () => boolean): Promise<void> {
  const { opts, deps } = ctx;
  const { onEvent, signal } = opts;
  const policy = opts.reconnect ?? { mode: 'never', maxAttempts: 0 };
  let current = first;
  let attempts = 0;
  let credentialsHintShown = false;
  for (;;) {
    const opened = Date.now();
    const exit = await current.plugin!.exited;
    if (signal.aborted || closing()) return;
    current.exitedOnItsOwn = true;
    const tunnel = current.tunnel!;
    const cause = endCause(current.endText, exit);
    onEvent({ type: 'ended', tunnel, text: endText(current), cause });
    await closeOne(current, ctx.aws, deps, onEvent);
    if (!shouldReconnect(policy.mode, cause)) return;
    if (Date.now() - opened >= LIVED_LONG_ENOUGH_MS) attempts = 0;
    let next: Live | undefined;
    while (!next) {
      if (attempts >= policy.maxAttempts) {
        onEvent({
          type: 'warning',
          message: `Gave up reconnecting ${tunnel.db} after ${attempts} attempts (--max-reconnects).`,
        });
        return;
      }
      attempts++;
      const delay = backoffMs(attempts);
      onEvent({ type: 'reconnecting', tunnel, attempt: attempts, delayMs: delay });
      if (!(await sleep(delay, signal)) || closing()) return;
      try {
        // The same local port: scripts and clients keep their address.
        await openOne(
          {
            env: tunnel.env,
            db: tunnel.db,
            host: tunnel.host,
            port: tunnel.port,
            localPort: tunnel.localPort,
            engine: tunnel.engine,
          },
          tunnel.localPort,
          ctx,
        );
        // Its own new entry (other tunnels may be reconnecting at the same moment).
        next = ctx.live
          .filter((l) => l.spec.env === tunnel.env && l.spec.db === tunnel.db && !l.terminated && l.tunnel)
          .at(-1);
      } catch (e) {
        const err = e instanceof TunnelError ? e : internal(e);
        onEvent({ type: 'warning', message: `Reconnecting ${tunnel.db} failed: ${err.message}` });
        // What the failed attempt started (a session, perhaps a plugin) ends now, not at exit.
        const leftovers = ctx.live.filter((l) => l.spec.env === tunnel.env && l.spec.db === tunnel.db && !l.terminated);
        await Promise.all(leftovers.map((l) => closeOne(l, ctx.aws, deps, onEvent)));
        if (err.kind === 'credentials') {
          // Expired keys: resolve the profile again (and for SSO, a login is needed: say so once).
          const dropped = await ctx.aws.forgetCachedCredentials();
          if (!dropped && !credentialsHintShown) {
            credentialsHintShown = true;
            onEvent({ type: 'warning', message: err.hint ?? 'Refresh your AWS credentials; dbtunnel keeps trying.' });
          }
        }
        if (err.kind === 'targetNotConnected' || err.kind === 'aws') {
          // The bastion may be gone (replaced, stopped): look it up again.
          try {
            ctx.bastion = await deps.findBastion(ctx.aws);
          } catch (lookup) {
            onEvent({ type: 'debug', message: `bastion lookup failed: ${(lookup as Error).message}` });
          }
        }
      }
      if (signal.aborted || closing()) return;
    }
    current = next!;
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** EC2 denials carry an encoded message: decode it when we may, and add what it says. */
async function withDecodedMessage(e: unknown, aws: AwsContext, onEvent: RunOptions['onEvent']): Promise<unknown> {
  if (!(e instanceof TunnelError) || e.kind !== 'accessDenied') return e;
  const encoded = /Encoded authorization failure message: (\S+)/.exec(e.details.join(' '))?.[1];
  if (!encoded) return e;
  const { decodeAuthorizationMessage } = await import('../aws/decode.js');
  const decoded = await decodeAuthorizationMessage(aws, encoded, (message) => onEvent({ type: 'debug', message }));
  return decoded
    ? new TunnelError(e.kind, e.message, { details: [...e.details, decoded], hint: e.hint, cause: e.cause })
    : e;
}

function scopeOf(plan: EnvironmentPlan, aws: AwsContext, bastion: Bastion): TunnelScope {
  return {
    region: aws.region,
    account: undefined,
    bastion: plan.bastion,
    instanceId: bastion.instanceId,
    instanceTags: bastion.tags,
  };
}

async function openOne(
  spec: TunnelSpec,
  localPort: number,
  { bastion, plugin, aws, live, opts, deps }: OpenContext,
): Promise<void> {
  const { onEvent, signal } = opts;
  const target = bastion.instanceId;
  const request = portForwardingRequest(target, spec.host, spec.port, localPort);
  onEvent({ type: 'progress', message: `Starting a session for ${spec.db} on ${target}` });
  let response: Awaited<ReturnType<typeof deps.startSession>>;
  for (let attempt = 1; ; attempt++) {
    try {
      response = await deps.startSession(aws, request);
      break;
    } catch (e) {
      // A bastion that booted minutes ago may not have registered with Session Manager yet.
      const wait =
        justBooted(bastion) && e instanceof TunnelError && e.kind === 'targetNotConnected'
          ? bootRetryMs(attempt)
          : undefined;
      if (wait === undefined) throw explainIfDenied(e, scopeOf(opts.plan, aws, bastion));
      onEvent({
        type: 'progress',
        message: `${target} booted recently and is not connected to Session Manager yet; trying again in ${wait / 1000} s`,
      });
      onEvent({
        type: 'debug',
        message: `TargetNotConnected on a bastion launched ${bastion.launchTime?.toISOString()}: retry ${attempt} in ${wait} ms`,
      });
      if (!(await sleep(wait, signal))) return;
    }
  }
  const entry: Live = { spec, sessionId: response.SessionId, scope: scopeOf(opts.plan, aws, bastion) };
  live.push(entry);
  if (signal.aborted) return;

  const invocation = buildPluginInvocation({
    response,
    region: aws.region,
    profile: aws.profile,
    request,
    ssmEndpoint: aws.ssmEndpoint ?? `https://ssm.${aws.region}.amazonaws.com`,
    form: plugin.verdict.form,
    credentials: aws.pluginNeedsCredentials ? await aws.credentials() : undefined,
  });
  onEvent({ type: 'debug', message: `plugin argv: ${JSON.stringify([plugin.file, ...invocation.argv])}` });
  onEvent({
    type: 'debug',
    message: `plugin env: + ${
      Object.keys(invocation.env)
        .filter((k) => invocation.env[k] !== undefined)
        .join(', ') || '(nothing)'
    }${
      Object.keys(invocation.env).some((k) => invocation.env[k] === undefined)
        ? `, - ${Object.keys(invocation.env)
            .filter((k) => invocation.env[k] === undefined)
            .join(', ')}`
        : ''
    } (values not shown)`,
  });

  await new Promise<void>((resolve, reject) => {
    let settled = false;
    const settle = (err?: TunnelError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve();
    };
    const onAbort = () => settle();
    signal.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => {
      settle(
        new TunnelError(
          'startFailed',
          `session-manager-plugin did not open local port ${localPort} for ${spec.db} within ${opts.startTimeoutMs / 1000} s.`,
          {
            details: entry.plugin?.lastOutput()
              ? [`It printed: ${entry.plugin.lastOutput().replace(/\s*\n\s*/g, ' | ')}`]
              : [],
            hint:
              'The plugin could not open its data channel: check that this network reaches ssmmessages.<region>.amazonaws.com (VPN, proxy),\n' +
              'or raise --timeout on a slow network.',
          },
        ),
      );
    }, opts.startTimeoutMs);

    const onPluginEvent = (e: PluginEvent) => {
      onEvent({ type: 'debug', message: `plugin ${spec.db}: ${JSON.stringify(e)}` });
      if (e.type === 'ready') {
        void boundAddress(e.port).then((address) => {
          entry.tunnel = {
            env: spec.env,
            db: spec.db,
            host: spec.host,
            port: spec.port,
            localPort: e.port,
            address,
            sessionId: response.SessionId,
            target,
            engine: spec.engine,
          };
          onEvent({ type: 'ready', tunnel: entry.tunnel });
          settle();
        });
      } else if (e.type === 'failed') {
        settle(
          /address already in use/.test(e.message)
            ? portInUseError(localPort, [/\[::1\]|::1/.test(e.message) ? '::1' : '127.0.0.1'], spec.db)
            : new TunnelError(
                'startFailed',
                `session-manager-plugin could not start the tunnel for ${spec.db}: ${e.message}`,
                {
                  hint: "Run again with --debug to see the plugin's output.",
                },
              ),
        );
      } else if (e.type === 'destination-failed' && entry.tunnel) {
        onEvent({ type: 'destination-failed', tunnel: entry.tunnel });
      } else if (e.type === 'ended') {
        entry.endText = e.text;
      }
    };
    // Word for word under --debug (what "Run again with --debug to see the plugin's output" promises);
    // the terminal redacts the session token, should a plugin ever print it.
    const onPluginLine = (stream: 'stdout' | 'stderr', line: string) => {
      onEvent({
        type: 'debug',
        message: `plugin ${spec.db} ${stream === 'stdout' ? 'printed' : 'printed on stderr'}: ${line}`,
      });
    };
    entry.plugin = deps.spawnPlugin(plugin.file, invocation, opts.env, onPluginEvent, onPluginLine);
    onEvent({
      type: 'debug',
      message: `plugin ${spec.db}: pid ${entry.plugin.pid}, ${RESPONSE_ENV} in its environment only`,
    });
    void entry.plugin.exited.then((exit) => {
      settle(
        new TunnelError(
          'startFailed',
          `session-manager-plugin exited (${exit.signal ?? `code ${exit.code}`}) before the tunnel for ${spec.db} was ready.`,
          {
            details: entry.plugin!.lastOutput()
              ? [`It printed: ${entry.plugin!.lastOutput().replace(/\s*\n\s*/g, ' | ')}`]
              : [],
            hint: "Run again with --debug to see the plugin's output.",
          },
        ),
      );
    });
  });
}

/** Stop the plugin (SIGINT first, so it tells the agent), then TerminateSession. Idempotent. */
async function closeOne(l: Live, aws: AwsContext, deps: RunDeps, onEvent: RunOptions['onEvent']): Promise<void> {
  if (l.terminated) return;
  l.terminated = true;
  let toldAgent = false;
  if (l.plugin) {
    const exit = await l.plugin.stop();
    toldAgent = !exit.forced && !l.exitedOnItsOwn;
    if (exit.forced)
      onEvent({
        type: 'warning',
        message: `session-manager-plugin for ${l.spec.db} did not stop on SIGINT and was killed.`,
      });
  }
  try {
    await deps.terminateSession(aws, l.sessionId);
    onEvent({ type: 'debug', message: `TerminateSession ${l.sessionId}: done` });
  } catch (e) {
    const err = e instanceof TunnelError ? e : internal(e);
    if (toldAgent) {
      // The plugin already ended the session over its data channel; this call was the belt.
      onEvent({
        type: 'debug',
        message: `TerminateSession ${l.sessionId} failed (the plugin had already ended it): ${err.message}`,
      });
    } else {
      const fix =
        err.kind === 'accessDenied'
          ? [
              '\n  To allow it, add to your policy (the first statement fits IAM users, the second roles):',
              ...formatStatements(grantFor('terminate-session', l.scope)).map((x) => `    ${x}`),
            ].join('\n')
          : '';
      onEvent({
        type: 'warning',
        message: `Could not terminate session ${l.sessionId} (${err.message}); it may stay open on the bastion until Session Manager's idle timeout.${fix}`,
      });
    }
  }
}
