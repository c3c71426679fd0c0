// `up -d`, `ps`, `down`, `logs`: tunnels held in the background by the supervisor (src/background).
// This side asks and shows: the production guard and an MFA code are asked here, at the terminal,
// before the tunnels are handed over; what the supervisor answers is printed as the foreground
// prints a tunnel.
import { displayPath } from '../config/load.js';
import { EXIT, TunnelError } from '../errors.js';
import { everySupervisor, reachSupervisor, type SupervisorConnection } from '../background/client.js';
import type { HeldTunnel, Reply, WireError } from '../background/protocol.js';
import type { EventRecord } from '../tunnel/events.js';
import { formatAddress } from '../tunnel/port.js';
import { confirmProduction } from './confirm.js';
import { askMfaCode } from './mfa.js';
import type { SessionClientChoice } from '../model.js';
import { loadPlan, selectionOf, type TargetArgs } from './plan.js';
import { commandLine } from '../shell-quote.js';
import { formatAge, formatTable } from './table.js';
import type { Terminal } from './terminal.js';

export interface UpArgs extends TargetArgs {
  all: boolean;
  yes: boolean;
  timeout: number;
  reconnect: 'always' | 'on-failure' | 'never' | undefined;
  maxReconnects: number;
  sessionClient?: SessionClientChoice | undefined;
}

/** Exit codes of an `up -d` stopped while it waited: the shell's 128+N. */
const EXIT_FOR_SIGNAL: Record<string, number> = { SIGINT: EXIT.cancelled, SIGTERM: EXIT.sigterm, SIGHUP: EXIT.sighup };

/** How long a cancelled `up -d` waits for the supervisor to have closed what it started. */
const CANCEL_WAIT_MS = 20_000;

/** By environment, then database (as `ps` lists them). */
const byName = (a: HeldTunnel, b: HeldTunnel) => a.env.localeCompare(b.env) || a.db.localeCompare(b.db);

const errorOf = (e: WireError) =>
  new TunnelError(e.kind, e.message, { details: e.details, ...(e.hint && { hint: e.hint }) });

async function heldBy(connection: SupervisorConnection): Promise<HeldTunnel[]> {
  const tunnels: HeldTunnel[] = [];
  await connection.ask({ type: 'list' }, (r) => {
    if (r.type === 'list') tunnels.push(...r.tunnels);
  });
  return tunnels;
}

/**
 * `up -d`: hand the tunnels to the background supervisor and return once each is ready. Stopped
 * while it waits (Ctrl-C), the supervisor closes what this started, ready or not: nothing is left
 * that `ps` would not list or that the user was not told of.
 */
export async function upDetached(args: UpArgs, term: Terminal, signal: AbortSignal): Promise<number> {
  const { plan, loaded } = await loadPlan(args.config, selectionOf(args), term);
  const supervisor = await reachSupervisor();
  try {
    // `up` makes them be up: one already held is left as it is (scripts can run `up -d` each time),
    // and said so. Background tunnels are known by environment and database: the same names from
    // another config are another tunnel, which must be closed first.
    const running = await heldBy(supervisor);
    const held = (t: { env: string; db: string }) => running.find((r) => r.env === t.env && r.db === t.db);
    for (const t of plan.tunnels) {
      const up = held(t);
      if (up && up.config !== loaded.file) {
        throw new TunnelError(
          'usage',
          `${t.env} ${t.db} is already up in the background from another config (${formatAddress(up.host, up.port)}).`,
          { details: [`Its config: ${displayPath(up.config)}`], hint: `dbtunnel down ${t.env} ${t.db} closes it.` },
        );
      }
    }
    const toStart = plan.tunnels.filter((t) => !held(t));
    if (plan.confirm && !args.yes && toStart.length > 0)
      await confirmProduction(
        plan.env,
        toStart.map((t) => t.db),
        term,
      );
    if (toStart.length > 0 && plan.profile) await askMfaOnce(plan.profile, plan.region, term);

    const replies = new Map<string, Reply>();
    let failure: TunnelError | undefined;
    const cancel = () => supervisor.tell({ type: 'cancel' });
    signal.addEventListener('abort', cancel, { once: true });
    const answered = supervisor.ask(
      {
        type: 'up',
        plan: { ...plan, sessionClient: args.sessionClient ?? plan.sessionClient },
        config: loaded.file,
        timeoutMs: args.timeout * 1000,
        // Nobody watches a background tunnel: it reconnects even after AWS ends the session, unless
        // told otherwise (a committed config's `reconnect:` still wins: it may be there for a reason).
        reconnect: { mode: args.reconnect ?? plan.reconnect ?? 'always', maxAttempts: args.maxReconnects },
      },
      (r) => {
        if (r.type === 'tunnel') replies.set(r.tunnel.db, r);
        else if (r.type === 'error' && r.db !== undefined) replies.set(r.db, r);
        else if (r.type === 'error') failure ??= errorOf(r.error);
      },
    );
    if (signal.aborted) cancel();
    await Promise.race([
      answered,
      new Promise<void>((resolve) => {
        // Once cancelled, the wait is bounded: the supervisor closes what it started in any case.
        signal.addEventListener('abort', () => setTimeout(resolve, CANCEL_WAIT_MS).unref(), { once: true });
      }),
    ]);
    signal.removeEventListener('abort', cancel);
    if (signal.aborted) {
      term.info('Cancelled: what up -d had started is closed (plugin stopped, session terminated).');
      term.event({ event: 'closed', reason: String(signal.reason) });
      return EXIT_FOR_SIGNAL[String(signal.reason)] ?? EXIT.cancelled;
    }
    if (failure) throw failure;
    let exit: number = EXIT.ok;
    for (const t of plan.tunnels) {
      const r = replies.get(t.db);
      if (r?.type === 'tunnel') printReady(r.tunnel, r.already, term);
      else {
        const code = term.error(
          r?.type === 'error'
            ? errorOf(r.error)
            : new TunnelError('startFailed', `No answer came for ${t.env} ${t.db}.`),
        );
        if (exit === EXIT.ok) exit = code;
      }
    }
    return exit;
  } finally {
    supervisor.close();
  }
}

/**
 * The supervisor has no terminal to ask an MFA code on: when the profile needs one, its credentials
 * are resolved here, where the code can be typed, and kept (0600, until they expire) for the
 * supervisor to use. Kept credentials still good are used without asking.
 */
async function askMfaOnce(profile: string, region: string | undefined, term: Terminal): Promise<void> {
  const { mfaSerialOf } = await import('../aws/credential-cache.js');
  if (!(await mfaSerialOf(profile))) return;
  const { createAwsContext } = await import('../aws/context.js');
  await createAwsContext({
    profile,
    region,
    mfaCode: (serial) => askMfaCode(serial, term),
    debug: (m) => term.debug(m),
    warn: (m) => term.warn(m),
  });
}

function printReady(t: HeldTunnel, already: boolean, term: Terminal): void {
  const how = already
    ? `already up in the background for ${formatAge(new Date(t.startedAt))} (pid ${t.pid})`
    : `in the background (pid ${t.pid})`;
  term.success(
    `${t.db} → ${term.paint('bold', formatAddress(t.host, t.port))}   ` +
      `${term.paint('dim', `${how}; dbtunnel down ${t.env} ${t.db} closes it`)}`,
    'stdout',
  );
  term.event({
    event: 'ready',
    env: t.env,
    db: t.db,
    host: t.host,
    port: t.port,
    sessionId: t.sessionId,
    pid: t.pid,
    ...(already && { already: true }),
  });
}

/** Every tunnel held in the background, from every supervisor; those lost since the last look are said once. */
export async function backgroundTunnels(term: Terminal): Promise<HeldTunnel[]> {
  const { connections, lost } = await everySupervisor();
  try {
    for (const t of lost) {
      const text =
        `${t.env} ${t.db} (${formatAddress(t.host, t.port)}) was lost: its background supervisor (pid ${t.pid}) ` +
        `stopped without closing it; dbtunnel's watchdog stopped its plugin, which ended its session. ` +
        `dbtunnel up -d ${t.env} ${t.db} opens it again.`;
      if (term.mode === 'json') term.notice(text);
      else term.warn(text);
    }
    const all = (await Promise.all(connections.map(heldBy))).flat();
    return all.sort(byName);
  } finally {
    for (const c of connections) c.close();
  }
}

export async function psCommand(args: { json: boolean }, term: Terminal): Promise<number> {
  const list = await backgroundTunnels(term);
  if (args.json) {
    term.json(list);
    return EXIT.ok;
  }
  if (list.length === 0) {
    term.info('No tunnels are up in the background. dbtunnel up -d <env> <db> opens one.');
    return EXIT.ok;
  }
  const state = (t: HeldTunnel) => (t.state === 'reconnecting' ? `reconnecting (attempt ${t.attempt})` : t.state);
  const rows = [
    ['ENV', 'DB', 'ADDRESS', 'STATE', 'AGE', 'PID'],
    ...list.map((t) => [
      t.env,
      t.db,
      formatAddress(t.host, t.port),
      state(t),
      formatAge(new Date(t.startedAt)),
      String(t.pid),
    ]),
  ];
  for (const line of formatTable(rows)) term.result(line);
  return EXIT.ok;
}

/** `down`: each supervisor closes its matching tunnels properly (plugin stopped, session terminated). */
export async function downCommand(
  args: { env: string | undefined; db: string | undefined },
  term: Terminal,
): Promise<number> {
  const { connections, lost } = await everySupervisor();
  void lost; // said by the next `ps`
  const closed: HeldTunnel[] = [];
  try {
    await Promise.all(
      connections.map((c) =>
        c.ask({ type: 'down', env: args.env, db: args.db }, (r) => {
          if (r.type === 'closed') closed.push(r.tunnel);
        }),
      ),
    );
  } finally {
    for (const c of connections) c.close();
  }
  if (closed.length === 0) {
    term.info(`Nothing to close${args.env ? ` for ${[args.env, args.db].filter(Boolean).join(' ')}` : ''}.`);
    return EXIT.ok;
  }
  for (const t of closed.sort(byName)) {
    term.success(`closed ${t.env} ${t.db} (${formatAddress(t.host, t.port)})`, 'stdout');
    term.event({ event: 'closed', env: t.env, db: t.db, host: t.host, port: t.port });
  }
  return EXIT.ok;
}

/** A log line for people: what happened, in a few words. Pure. */
export function describeRecord(r: EventRecord): string {
  const text = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? String(v) : '');
  switch (r.event) {
    case 'bastion':
      return `bastion ${text(r.instanceId)} (${text(r.region)})`;
    case 'ready':
      return `ready on ${formatAddress(text(r.host), Number(r.port))} (session ${text(r.sessionId)})`;
    case 'ended':
      return `session ${text(r.sessionId)} ended: ${text(r.cause)}`;
    case 'reconnecting':
      return `reconnecting in ${Number(r.delayMs) / 1000} s (attempt ${text(r.attempt)})`;
    case 'warning':
      return `warning: ${text(r.message)}`;
    case 'error':
      return `error: ${text(r.message)}${r.hint ? ` (${text(r.hint)})` : ''}`;
    case 'closed':
      return `closed (${text(r.reason)})`;
    case 'path': {
      if (r.error) return `could not look at the path: ${text(r.error)}`;
      const b =
        typeof r.blocking === 'object' && r.blocking !== null ? (r.blocking as Record<string, unknown>) : undefined;
      if (!b) return 'path: no hop blocked; the database itself may be refusing';
      const words = Array.isArray(b.fix) && b.fix.every((w) => typeof w === 'string') ? (b.fix as string[]) : undefined;
      const fix = words ? commandLine('bash', words) : text(b.advice);
      return `path ${text(r.verdict)} at the ${text(b.step)}: ${text(b.why)}${fix ? ` Fix: ${fix}` : ''}`;
    }
    default:
      return text(r.event);
  }
}

/** `logs <env> [db] [-f]`: what the background tunnels reported, as it was reported; -f follows. */
export async function logsCommand(
  args: { env: string; db: string | undefined; follow: boolean },
  term: Terminal,
  signal: AbortSignal,
): Promise<number> {
  const { connections } = await everySupervisor();
  let lines = 0;
  try {
    const asked = Promise.all(
      connections.map((c) =>
        c.ask({ type: 'logs', env: args.env, db: args.db, follow: args.follow }, (r) => {
          if (r.type !== 'log') return;
          lines++;
          if (term.mode === 'json') term.event({ ...r.record, env: r.env, db: r.db, at: r.at });
          else term.result(`${r.at.slice(0, 19).replace('T', ' ')}  ${r.env} ${r.db}  ${describeRecord(r.record)}`);
        }),
      ),
    );
    // -f: until the tunnels followed have closed, or Ctrl-C.
    await Promise.race([asked, new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))]);
  } finally {
    for (const c of connections) c.close();
  }
  if (lines === 0 && !signal.aborted) {
    term.info(
      `Nothing was logged for ${[args.env, args.db].filter(Boolean).join(' ')} ` +
        `in the background. dbtunnel ps lists what is up.`,
    );
  }
  return EXIT.ok;
}
