// One run of `dbtunnel <env> <db…>`, top to bottom: preflight (plugin, local ports, credentials and
// bastion, all at once), a session and a plugin per database, hold, and close — with every session
// terminated and every plugin stopped on every path out of here. The edges it talks to (AWS, the
// plugin's process) come in as RunDeps: tunnel/deps.ts gives the real ones, tests give their own.
import type { Bastion } from '../aws/bastion.js';
import type { AwsContext } from '../aws/context.js';
import { portForwardingRequest } from '../aws/session.js';
import { TunnelError } from '../errors.js';
import { explainIfDenied, formatStatements } from '../iam/explain.js';
import { grantFor, type TunnelScope } from '../iam/requests.js';
import type { EnvironmentPlan, ReconnectMode, StartSessionResponse, TunnelSpec } from '../model.js';
import { buildPluginInvocation, RESPONSE_ENV } from '../plugin/argv.js';
import type { PluginEvent } from '../plugin/output.js';
import type { RunningSession, SessionExit } from '../session-client.js';
import type { PluginVerdict } from '../plugin/version.js';
import { clientHint } from './client-hint.js';
import type { OpenTunnel, TunnelEvent } from './events.js';
import type { PathReport } from './network-check.js';
import { boundAddress, chooseLocalPort, type LocalPortChoice, portInUseError, systemPickedPort } from './port.js';

export type { OpenTunnel, TunnelEvent } from './events.js';
export type { ReconnectMode } from '../model.js';

/** Why the hold ended. */
export type StopReason = 'SIGINT' | 'SIGTERM' | 'SIGHUP' | 'crash';

export type RunOutcome =
  | { kind: 'stopped'; reason: StopReason }
  | { kind: 'ended'; tunnels: OpenTunnel[] }
  | { kind: 'done'; result: number };

export interface PluginSetup {
  file: string;
  verdict: PluginVerdict;
  /** dbtunnel's own session client carries the tunnels instead (src/native/): why, and whether `auto` fell back. */
  native?: { why: string; fallback: boolean } | undefined;
}

/** The edges a run talks to (tunnel/deps.ts gives the real ones); nothing here touches the terminal. */
export interface RunDeps {
  preparePlugin(): Promise<PluginSetup>;
  connectAws(): Promise<AwsContext>;
  findBastion(aws: AwsContext): Promise<Bastion>;
  startSession(aws: AwsContext, request: ReturnType<typeof portForwardingRequest>): Promise<StartSessionResponse>;
  terminateSession(aws: AwsContext, sessionId: string): Promise<void>;
  /** AWS's plugin as a process (loaded only when a run uses it: execa comes with it). */
  pluginClient(): Promise<typeof import('../plugin/process.js').spawnPlugin>;
  /** EC2's encoded authorization message, decoded when the caller may; undefined otherwise. */
  decodeMessage?(aws: AwsContext, encoded: string): Promise<string | undefined>;
  /** ssm:ResumeSession (the native client, after its socket dropped). */
  resumeSession?(aws: AwsContext, sessionId: string): Promise<string | undefined>;
  /** dbtunnel's own session client (loaded only when a run uses it). */
  nativeClient?(): Promise<typeof import('../native/session.js').startNativeSession>;
  /** Why the bastion cannot reach a database (tunnel/network-check.ts). */
  diagnosePath?(
    aws: AwsContext,
    instanceId: string,
    database: { host: string; port: number },
    signal: AbortSignal,
  ): Promise<PathReport>;
}

export interface ReconnectPolicy {
  mode: ReconnectMode;
  /** Attempts per outage; the count resets once a session has lived a minute. */
  maxAttempts: number;
}

export interface RunOptions {
  plan: EnvironmentPlan;
  /** Spawn to "Port N opened". */
  startTimeoutMs: number;
  /** The environment the plugin is started in (dbtunnel's own, never holding the token). */
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

/** One session and its plugin, from StartSession to TerminateSession. */
interface Live {
  spec: TunnelSpec;
  sessionId: string;
  plugin?: RunningSession;
  tunnel?: OpenTunnel;
  /** The plugin exited without being asked to: it may not have told the agent. */
  exitedOnItsOwn?: boolean;
  terminated?: boolean;
  /** What the plugin said when the session ended. */
  endText?: string;
  /** For explaining a refused TerminateSession. */
  scope: TunnelScope;
}

/** What every tunnel of one run shares; each tunnel keeps its own bastion (a reconnect may look it up again). */
interface Shared {
  plugin: PluginSetup;
  aws: AwsContext;
  opts: RunOptions;
  deps: RunDeps;
  /** Every session started and not yet closed, for closing on the way out. */
  live: Set<Live>;
  /** Set once the run closes its tunnels itself: a plugin exiting then has not "ended on its own". */
  closing: boolean;
  /** The databases whose path has been looked into (once per database and run). */
  diagnosed: Set<string>;
  /** Aborts the looks still under way when the run closes: they must not keep the process. */
  looks: AbortController;
}

/** Stopped while a tunnel was opening: what it had started is closed, and the run ends. */
class Aborted extends Error {}

export async function runTunnels(opts: RunOptions, deps: RunDeps): Promise<RunOutcome> {
  const { plan, signal, onEvent } = opts;
  let shared: Shared | undefined;
  const keepers: Promise<void>[] = [];
  try {
    // 1. Preflight, concurrently; nothing exists on AWS's side yet.
    onEvent({ type: 'progress', message: `Finding the bastion for ${plan.env}` });
    const [pluginR, portsR, bastionR] = await Promise.allSettled([
      deps.preparePlugin(),
      reserveLocalPorts(plan.tunnels),
      deps.connectAws().then(async (aws) => {
        try {
          return { aws, bastion: await deps.findBastion(aws) };
        } catch (e) {
          throw await withDecodedMessage(
            explainIfDenied(e, { region: aws.region, account: undefined, bastion: plan.bastion }),
            aws,
            deps,
          );
        }
      }),
    ]);
    // Report the cheapest fix first: a missing plugin, then a busy port, then AWS.
    for (const r of [pluginR, portsR, bastionR]) if (r.status === 'rejected') throw r.reason;
    const plugin = (pluginR as PromiseFulfilledResult<PluginSetup>).value;
    const ports = (portsR as PromiseFulfilledResult<LocalPortChoice[]>).value;
    const { aws, bastion } = (bastionR as PromiseFulfilledResult<{ aws: AwsContext; bastion: Bastion }>).value;
    shared = {
      plugin,
      aws,
      opts,
      deps,
      live: new Set(),
      closing: false,
      diagnosed: new Set(),
      looks: new AbortController(),
    };
    if (plugin.verdict.warning) onEvent({ type: 'warning', message: plugin.verdict.warning });
    if (plugin.native?.fallback) {
      onEvent({ type: 'warning', message: `${plugin.native.why}: dbtunnel's own session client carries the tunnel.` });
    }
    onEvent({ type: 'bastion', bastion, region: aws.region, profile: aws.profile });
    if (signal.aborted) return { kind: 'stopped', reason: signal.reason as StopReason };

    // 2. A session and a plugin per database, all at once.
    const run = shared;
    const results = await Promise.allSettled(
      plan.tunnels.map((spec, i) => openWithFallback(spec, ports[i]!, bastion, run)),
    );
    if (signal.aborted) return { kind: 'stopped', reason: signal.reason as StopReason };
    const opened = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const failures = results.flatMap((r, i) =>
      r.status === 'rejected' ? [{ spec: plan.tunnels[i]!, error: r.reason }] : [],
    );
    if (opened.length === 0) throw failures[0]!.error;
    for (const f of failures) onEvent({ type: 'failed', spec: f.spec, error: asTunnelError(f.error) });

    // 3. Hold until asked to stop, or until every tunnel has ended for good (reconnecting as the
    // mode says in between).
    keepers.push(...opened.map((l) => keepOpen(l, bastion, run)));
    const allEnded = Promise.all(keepers);
    const stopped = new Promise<StopReason>((resolve) => {
      if (signal.aborted) resolve(signal.reason as StopReason);
      signal.addEventListener('abort', () => resolve(signal.reason as StopReason), { once: true });
    });
    const tunnels = opened.map((l) => l.tunnel!);
    onEvent({ type: 'all-ready', tunnels });
    if (opts.whileOpen) {
      // The command decides; a tunnel that ends meanwhile is reported, and the command goes on.
      return { kind: 'done', result: await opts.whileOpen(tunnels) };
    }
    const first = await Promise.race([allEnded.then(() => 'ended' as const), stopped]);
    if (first === 'ended') return { kind: 'ended', tunnels };
    return { kind: 'stopped', reason: first };
  } finally {
    if (shared) {
      const run = shared;
      run.closing = true;
      run.looks.abort();
      if ([...run.live].some((l) => !l.terminated)) {
        onEvent({ type: 'closing', reason: signal.aborted ? String(signal.reason) : 'done' });
        await Promise.all([...run.live].map((l) => closeOne(l, run)));
      }
      // A tunnel reconnecting at this moment closes what it started itself; wait for it.
      await Promise.all(keepers);
    }
  }
}

function asTunnelError(e: unknown): TunnelError {
  return e instanceof TunnelError
    ? e
    : new TunnelError('internal', e instanceof Error ? e.message : String(e), { cause: e });
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
async function openWithFallback(
  spec: TunnelSpec,
  choice: LocalPortChoice,
  bastion: Bastion,
  run: Shared,
): Promise<Live> {
  try {
    return await openOne(spec, choice.port, bastion, run);
  } catch (e) {
    if (!(e instanceof TunnelError && e.kind === 'portInUse') || choice.why === 'config' || run.opts.signal.aborted)
      throw e;
    const port = await systemPickedPort();
    run.opts.onEvent({
      type: 'debug',
      message: `local port ${choice.port} was taken while ${spec.db} started; starting again on ${port}`,
    });
    return openOne(spec, port, bastion, run);
  }
}

/** Launched less than five minutes ago. */
function justBooted(b: Bastion, now = Date.now()): boolean {
  return b.launchTime !== undefined && now - b.launchTime.getTime() < 5 * 60_000;
}

/** Waits between StartSession attempts on a bastion that just booted: 2 s, 4 s, 8 s, then give up. Pure. */
export function bootRetryMs(attempt: number): number | undefined {
  return attempt <= 3 ? 1000 * 2 ** attempt : undefined;
}

/** How a session ended: AWS ended it (idle or maximum duration, terminated elsewhere), or it failed. Pure. */
export function endCause(text: string | undefined, exit: SessionExit): 'aws' | 'failure' {
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
async function keepOpen(first: Live, firstBastion: Bastion, run: Shared): Promise<void> {
  const { opts, deps } = run;
  const { onEvent, signal } = opts;
  const policy = opts.reconnect ?? { mode: 'never', maxAttempts: 0 };
  let current = first;
  let bastion = firstBastion; // this tunnel's own: a lookup after a failure replaces it here only
  let attempts = 0;
  let credentialsHintShown = false;
  for (;;) {
    const opened = Date.now();
    const exit = await current.plugin!.exited;
    if (signal.aborted || run.closing) return;
    current.exitedOnItsOwn = true;
    const tunnel = current.tunnel!;
    const cause = endCause(current.endText, exit);
    onEvent({ type: 'ended', tunnel, text: current.endText ?? 'session-manager-plugin exited', cause });
    await closeOne(current, run);
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
      if (!(await sleep(delay, signal)) || run.closing) return;
      try {
        // The same local port: scripts and clients keep their address.
        next = await openOne(current.spec, tunnel.localPort, bastion, run);
      } catch (e) {
        if (e instanceof Aborted || signal.aborted || run.closing) return;
        const err = asTunnelError(e);
        onEvent({ type: 'warning', message: `Reconnecting ${tunnel.db} failed: ${err.message}` });
        if (err.kind === 'credentials') {
          // Expired keys: resolve the profile again (and for SSO, a login is needed: say so once).
          const dropped = await run.aws.forgetCachedCredentials();
          if (!dropped && !credentialsHintShown) {
            credentialsHintShown = true;
            onEvent({ type: 'warning', message: err.hint ?? 'Refresh your AWS credentials; dbtunnel keeps trying.' });
          }
        }
        if (err.kind === 'targetNotConnected' || err.kind === 'aws') {
          // The bastion may be gone (replaced, stopped): look it up again.
          try {
            bastion = await deps.findBastion(run.aws);
          } catch (lookup) {
            onEvent({ type: 'debug', message: `bastion lookup failed: ${(lookup as Error).message}` });
          }
        }
      }
      if (signal.aborted || run.closing) {
        if (next) await closeOne(next, run);
        return;
      }
    }
    current = next;
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
async function withDecodedMessage(e: unknown, aws: AwsContext, deps: RunDeps): Promise<unknown> {
  if (!(e instanceof TunnelError) || e.kind !== 'accessDenied' || !deps.decodeMessage) return e;
  const encoded = /Encoded authorization failure message: (\S+)/.exec(e.details.join(' '))?.[1];
  if (!encoded) return e;
  const decoded = await deps.decodeMessage(aws, encoded);
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

/**
 * One session and its plugin, until the plugin says its port is open: the tunnel, registered with
 * the run. Whatever goes wrong on the way (or a stop) closes what this call started, before it
 * throws: nothing is left for anyone else to find.
 */
async function openOne(spec: TunnelSpec, localPort: number, bastion: Bastion, run: Shared): Promise<Live> {
  const { aws, opts, deps } = run;
  const { onEvent, signal } = opts;
  const target = bastion.instanceId;
  const request = portForwardingRequest(target, spec.host, spec.port, localPort);
  onEvent({ type: 'progress', message: `Starting a session for ${spec.db} on ${target}` });
  let response: StartSessionResponse;
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
        message:
          `${target} booted recently and is not connected to ` +
          `Session Manager yet; trying again in ${wait / 1000} s`,
      });
      onEvent({
        type: 'debug',
        message:
          `TargetNotConnected on a bastion launched ` +
          `${bastion.launchTime?.toISOString()}: retry ${attempt} in ${wait} ms`,
      });
      if (!(await sleep(wait, signal))) throw new Aborted();
    }
  }
  const entry: Live = { spec, sessionId: response.SessionId, scope: scopeOf(opts.plan, aws, bastion) };
  run.live.add(entry);
  try {
    if (signal.aborted || run.closing) throw new Aborted();
    await startPlugin(entry, localPort, request, response, run);
    return entry;
  } catch (e) {
    await closeOne(entry, run);
    throw e;
  }
}

/**
 * The first failed connection to a database starts a look at the path, once per run, beside the
 * tunnel (which goes on): its finding is an event of its own. Nothing is reported once the run closes.
 */
function diagnoseOnce(tunnel: OpenTunnel, run: Shared): boolean {
  const { deps, aws, opts } = run;
  if (!deps.diagnosePath || run.diagnosed.has(tunnel.db)) return false;
  run.diagnosed.add(tunnel.db);
  deps.diagnosePath(aws, tunnel.target, { host: tunnel.host, port: tunnel.port }, run.looks.signal).then(
    (report) => {
      if (!run.closing && !opts.signal.aborted) opts.onEvent({ type: 'path', tunnel, report });
    },
    (e: unknown) => {
      if (run.closing || opts.signal.aborted) return;
      const error = e instanceof TunnelError ? e : new TunnelError('aws', String((e as Error)?.message ?? e));
      opts.onEvent({ type: 'path-unknown', tunnel, error });
    },
  );
  return true;
}

/** Start the plugin for a session and wait for its port; the entry gets its plugin and tunnel. */
async function startPlugin(
  entry: Live,
  localPort: number,
  request: ReturnType<typeof portForwardingRequest>,
  response: StartSessionResponse,
  run: Shared,
): Promise<void> {
  const { aws, plugin, opts, deps } = run;
  const { onEvent, signal } = opts;
  const spec = entry.spec;
  // dbtunnel's own session client, in this process: it signs its channel with the keys themselves.
  const native = plugin.native && deps.nativeClient ? await deps.nativeClient() : undefined;
  const spawnPlugin = native ? undefined : await deps.pluginClient();
  const client = native ? "dbtunnel's session client" : 'session-manager-plugin';
  const invocation = buildPluginInvocation({
    response,
    region: aws.region,
    profile: aws.profile,
    request,
    ssmEndpoint: aws.ssmEndpoint ?? `https://ssm.${aws.region}.amazonaws.com`,
    form: plugin.verdict.form,
    credentials: aws.pluginNeedsCredentials ? await aws.credentials() : undefined,
  });
  const added = Object.keys(invocation.env).filter((k) => invocation.env[k] !== undefined);
  const removed = Object.keys(invocation.env).filter((k) => invocation.env[k] === undefined);
  if (native) {
    onEvent({ type: 'debug', message: `session client: dbtunnel's own (${plugin.native!.why})` });
  } else {
    onEvent({ type: 'debug', message: `plugin argv: ${JSON.stringify([plugin.file, ...invocation.argv])}` });
    onEvent({
      type: 'debug',
      message:
        `plugin env: + ${added.join(', ') || '(nothing)'}${removed.length ? `, - ${removed.join(', ')}` : ''} ` +
        `(values not shown)`,
    });
  }

  await new Promise<void>((resolve, reject) => {
    let settled = false;
    const settle = (err?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve();
    };
    const onAbort = () => settle(new Aborted());
    signal.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => {
      settle(
        new TunnelError(
          'startFailed',
          `${client} did not open local port ${localPort} for ${spec.db} within ${opts.startTimeoutMs / 1000} s.`,
          {
            details: entry.plugin?.lastOutput()
              ? [`It printed: ${entry.plugin.lastOutput().replace(/\s*\n\s*/g, ' | ')}`]
              : [],
            hint:
              'The data channel did not open: check that this network reaches ' +
              `ssmmessages.${aws.region}.amazonaws.com (VPN, proxy),\nor raise --timeout on a slow network.`,
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
            target: request.Target,
            engine: spec.engine,
            client: native ? 'native' : 'plugin',
          };
          const hint = clientHint(spec.engine, spec.port, address ?? '127.0.0.1', e.port);
          onEvent({ type: 'ready', tunnel: entry.tunnel, url: hint?.url });
          settle();
        });
      } else if (e.type === 'failed') {
        settle(
          /address already in use/.test(e.message)
            ? portInUseError(localPort, [/\[::1\]|::1/.test(e.message) ? '::1' : '127.0.0.1'], spec.db)
            : new TunnelError('startFailed', `${client} could not start the tunnel for ${spec.db}: ${e.message}`, {
                hint: startHint(native !== undefined, e.message),
              }),
        );
      } else if (e.type === 'destination-failed' && entry.tunnel) {
        const diagnosing = diagnoseOnce(entry.tunnel, run);
        onEvent({ type: 'destination-failed', tunnel: entry.tunnel, diagnosing });
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
    entry.plugin = native
      ? native({
          response,
          region: aws.region,
          credentials: () => aws.credentials(),
          localPort,
          onEvent: onPluginEvent,
          debug: (message) => onEvent({ type: 'debug', message: `${spec.db}: ${message}` }),
          ...(deps.resumeSession ? { resume: () => deps.resumeSession!(aws, response.SessionId) } : {}),
        })
      : spawnPlugin!(plugin.file, invocation, opts.env, onPluginEvent, onPluginLine);
    if (!native) {
      onEvent({
        type: 'debug',
        message: `plugin ${spec.db}: pid ${entry.plugin.pid}, ${RESPONSE_ENV} in its environment only`,
      });
    }
    void entry.plugin.exited.then((exit) => {
      settle(
        new TunnelError(
          'startFailed',
          `${client} ${native ? 'ended' : 'exited'} (${exit.signal ?? `code ${exit.code}`}) ` +
            `before the tunnel for ${spec.db} was ready.`,
          {
            details: entry.plugin!.lastOutput()
              ? [`It printed: ${entry.plugin!.lastOutput().replace(/\s*\n\s*/g, ' | ')}`]
              : [],
            hint: startHint(native !== undefined, entry.plugin!.lastOutput()),
          },
        ),
      );
    });
  });
}

/** What to do when a session client could not open the tunnel. Pure. */
export function startHint(native: boolean, said: string): string {
  if (!native) return "Run again with --debug to see the plugin's output.";
  if (/HTTP 403|1008/.test(said)) {
    return (
      'The data channel refused the signed request: your policy needs ssmmessages:OpenDataChannel on ' +
      'your sessions (dbtunnel policy <env>), or try --session-client plugin.'
    );
  }
  return "Run again with --debug to see what dbtunnel's session client did, or try --session-client plugin.";
}

/** Stop the plugin (SIGINT first, so it tells the agent), then TerminateSession. Idempotent. */
async function closeOne(l: Live, run: Shared): Promise<void> {
  const { onEvent } = run.opts;
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
    await run.deps.terminateSession(run.aws, l.sessionId);
    onEvent({ type: 'debug', message: `TerminateSession ${l.sessionId}: done` });
  } catch (e) {
    const err = asTunnelError(e);
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
        message:
          `Could not terminate session ${l.sessionId} (${err.message}); it may ` +
          `stay open on the bastion until Session Manager's idle timeout.${fix}`,
      });
    }
  } finally {
    run.live.delete(l);
  }
}
