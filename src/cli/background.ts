// `up -d`, `ps`, `down`: tunnels held by background dbtunnel processes, one per database, so that
// each can be closed on its own. State lives under the XDG state directory, one JSON file per
// process; an entry whose process is gone (or is no longer the dbtunnel it started) is stale and
// cleaned up when seen.
import { execFile, spawn } from 'node:child_process';
import { open, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { displayPath } from '../config/load.js';
import { EXIT, TunnelError } from '../errors.js';
import { KiB, readBoundedFile, readFileTail } from '../files.js';
import { ensurePrivateDir, writePrivateFile } from '../private-dir.js';
import { posixQuote } from '../shell-quote.js';
import { formatAddress } from '../tunnel/port.js';
import { xdgBase } from '../xdg.js';
import { BACKGROUND_ENV } from './background-env.js';
import { confirmProduction } from './confirm.js';
import { loadPlan, type TargetArgs } from './plan.js';
import { formatAge, formatTable } from './table.js';
import type { Terminal } from './terminal.js';

export interface BackgroundTunnel {
  pid: number;
  env: string;
  db: string;
  host: string;
  port: number;
  sessionId: string;
  config: string;
  startedAt: string;
  log: string;
}

export function stateDir(env: NodeJS.ProcessEnv = process.env, home = os.homedir()): string {
  return path.join(xdgBase('state', env, home), 'dbtunnel');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The command line of a process, or undefined where it cannot be read. Linux has it in /proc; on
 * macOS, ps prints it.
 */
async function commandLineOf(pid: number): Promise<string | undefined> {
  try {
    return (await readBoundedFile(`/proc/${pid}/cmdline`, 64 * KiB)).toString('utf8').replaceAll('\0', ' ');
  } catch {
    return new Promise((resolve) => {
      execFile('ps', ['-p', String(pid), '-o', 'command='], (e, out) => resolve(e ? undefined : out.trim()));
    });
  }
}

/**
 * Whether an entry's process is still the background dbtunnel it names: alive, and running that
 * config, environment and database (after a reboot its pid may be another program's, which `down`
 * must never signal). Where no command line can be read, alive is all there is to go by.
 */
async function stillHeld(t: BackgroundTunnel): Promise<boolean> {
  if (!alive(t.pid)) return false;
  const args = await commandLineOf(t.pid);
  return args === undefined || isBackgroundCommand(args, t);
}

/** Whether a command line (its words joined by spaces) is the background dbtunnel of an entry. Pure. */
export function isBackgroundCommand(args: string, t: Pick<BackgroundTunnel, 'config' | 'env' | 'db'>): boolean {
  return args.includes(` --config ${t.config} ${t.env} ${t.db} --json `);
}

/** Every live background tunnel; stale entries (their process gone) are removed on the way. */
export async function backgroundTunnels(dir = stateDir()): Promise<BackgroundTunnel[]> {
  let files: string[];
  try {
    files = (await readdir(dir)).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
  const out: BackgroundTunnel[] = [];
  for (const f of files) {
    const file = path.join(dir, f);
    try {
      const entry = JSON.parse((await readBoundedFile(file, 64 * KiB)).toString('utf8')) as BackgroundTunnel;
      if (!Number.isInteger(entry.pid) || entry.pid <= 1) throw new Error('not an entry of ours'); // -1 would signal every process
      if (await stillHeld(entry)) out.push(entry);
      else await rm(file, { force: true });
    } catch {
      await rm(file, { force: true });
    }
  }
  return out.sort((a, b) => `${a.env}/${a.db}`.localeCompare(`${b.env}/${b.db}`));
}

const entryName = (env: string, db: string) => `${env}--${db}`;

/** The end of a background tunnel's log: its latest events (a long-lived tunnel's log grows). */
async function readLog(file: string): Promise<string> {
  // A line cut at the start of the tail is not JSON, and logEvents skips it.
  return (await readFileTail(file, 256 * KiB).catch(() => Buffer.alloc(0))).toString('utf8');
}

/** How long a background dbtunnel is given to stop its plugin and end its session. */
const STOP_WAIT_MS = 15_000;

/** The JSON events a background dbtunnel wrote to its log (it runs with --json). Pure. */
export function logEvents(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return []; // a line cut short while being written
      }
    });
}

/** What a background tunnel is doing now, from its log: up (with its current session), or reconnecting. Pure. */
export function tunnelState(events: readonly Record<string, unknown>[]): {
  state: 'up' | 'reconnecting' | 'down';
  sessionId?: string;
  attempt?: number;
} {
  let now: ReturnType<typeof tunnelState> = { state: 'down' };
  for (const e of events) {
    if (e.event === 'ready') now = { state: 'up', sessionId: String(e.sessionId) };
    else if (e.event === 'ended') now = { state: 'down' };
    else if (e.event === 'reconnecting') now = { state: 'reconnecting', attempt: Number(e.attempt) };
  }
  return now;
}

export interface UpArgs extends TargetArgs {
  all: boolean;
  yes: boolean;
  timeout: number;
  reconnect: 'always' | 'on-failure' | 'never' | undefined;
  maxReconnects: number;
}

/** Exit codes of an `up -d` stopped while it waited: the shell's 128+N. */
const EXIT_FOR_SIGNAL: Record<string, number> = { SIGINT: EXIT.cancelled, SIGTERM: EXIT.sigterm, SIGHUP: EXIT.sighup };

/**
 * `up -d`: a background dbtunnel per database, and return once each is ready. Stopped while it
 * waits (Ctrl-C), it closes what it had started, ready or not: nothing is left that `ps` would not
 * list or that the user was not told of.
 */
export async function upDetached(args: UpArgs, term: Terminal, signal: AbortSignal): Promise<number> {
  const { plan, loaded } = await loadPlan(
    args.config,
    {
      env: args.env,
      dbs: args.dbs,
      all: args.all,
      profile: args.profile,
      region: args.region,
      instance: args.instance,
    },
    term,
  );
  const dir = stateDir();
  const problem = await ensurePrivateDir(dir);
  if (problem) {
    throw new TunnelError('config', `dbtunnel keeps background tunnels in ${dir}, and ${problem}.`, {
      hint: `Make it yours alone (chmod 700 ${posixQuote(dir)}), or remove it and run again.`,
    });
  }
  // `up` makes them be up: one already held in the background is left as it is (scripts can run
  // `up -d` each time), and said so; the others are started. Background tunnels are known by
  // environment and database: the same names from another config are another tunnel, which must
  // be closed first.
  const running = await backgroundTunnels(dir);
  const held = (t: { env: string; db: string }) => running.find((r) => r.env === t.env && r.db === t.db);
  for (const t of plan.tunnels) {
    const up = held(t);
    if (up && up.config !== loaded.file) {
      throw new TunnelError(
        'usage',
        `${t.env} ${t.db} is already up in the background from another config (pid ${up.pid}, ${formatAddress(up.host, up.port)}).`,
        {
          details: [`Its config: ${displayPath(up.config)}`],
          hint: `dbtunnel down ${t.env} ${t.db} closes it.`,
        },
      );
    }
  }
  // The production guard is asked here, at the terminal; the background dbtunnels have none.
  const toStart = plan.tunnels.filter((t) => !held(t));
  if (plan.confirm && !args.yes && toStart.length > 0)
    await confirmProduction(
      plan.env,
      toStart.map((t) => t.db),
      term,
    );
  const confirmed = { ...args, yes: args.yes || plan.confirm };
  const bin = process.argv[1] ?? fileURLToPath(new URL('../bin/dbtunnel', import.meta.url));
  const started = await Promise.allSettled(
    plan.tunnels.map(async (t) => {
      const up = held(t);
      return up
        ? { ...up, already: true }
        : {
            ...(await startOne(t.env, t.db, loaded.file, plan.reconnect, confirmed, bin, dir, signal)),
            already: false,
          };
    }),
  );
  if (signal.aborted) {
    const ours = started.flatMap((r) => (r.status === 'fulfilled' && !r.value.already ? [r.value] : []));
    await Promise.all(ours.map((t) => closeBackground(t, term, false)));
    term.info('Cancelled: what up -d had started is closed (plugin stopped, session terminated).');
    term.event({ event: 'closed', reason: String(signal.reason) });
    return EXIT_FOR_SIGNAL[String(signal.reason)] ?? EXIT.cancelled;
  }
  let exit: number = EXIT.ok;
  for (const r of started) {
    if (r.status === 'fulfilled') {
      const t = r.value;
      const how = t.already
        ? `already up in the background for ${formatAge(new Date(t.startedAt))} (pid ${t.pid})`
        : `in the background (pid ${t.pid})`;
      term.success(
        `${t.db} → ${term.paint('bold', formatAddress(t.host, t.port))}   ${term.paint('dim', `${how}; dbtunnel down ${t.env} ${t.db} closes it`)}`,
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
        ...(t.already && { already: true }),
      });
    } else {
      const e = r.reason instanceof TunnelError ? r.reason : new TunnelError('internal', String(r.reason));
      term.error(e);
      if (exit === EXIT.ok) exit = e.exitCode;
    }
  }
  return exit;
}

async function startOne(
  env: string,
  db: string,
  config: string,
  configured: UpArgs['reconnect'],
  args: UpArgs,
  bin: string,
  dir: string,
  signal: AbortSignal,
): Promise<BackgroundTunnel> {
  if (signal.aborted) throw new TunnelError('cancelled', `Cancelled before ${env} ${db} was started.`);
  const log = path.join(dir, `${entryName(env, db)}.log`);
  const handle = await open(log, 'w', 0o600);
  // In this order: isBackgroundCommand knows it by these words.
  const argv = [bin, '--config', config, env, db, '--json', '--timeout', String(args.timeout)];
  if (args.profile) argv.push('--profile', args.profile);
  if (args.region) argv.push('--region', args.region);
  if (args.instance) argv.push('--instance', args.instance);
  if (args.yes) argv.push('--yes');
  // Nobody watches a background tunnel: it reconnects even after AWS ends the session, unless told otherwise.
  // (A committed config's `reconnect:` still wins over that default: it may be there for a reason.)
  argv.push('--reconnect', args.reconnect ?? configured ?? 'always', '--max-reconnects', String(args.maxReconnects));
  // Its own session: no terminal to lose, no SIGHUP when this shell closes.
  const child = spawn(process.execPath, argv, {
    detached: true,
    stdio: ['ignore', handle.fd, handle.fd],
    env: { ...process.env, [BACKGROUND_ENV]: '1' },
  });
  await handle.close();
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  // Held (ref'd) while we wait for it, so that its exit is heard; let go once this returns or throws.
  let code: number | null | 'running' = 'running';
  void exited.then((c) => (code = c));
  const deadline = Date.now() + (args.timeout + 60) * 1000;
  try {
    for (;;) {
      // Whether it has exited is read before the log, so that its last words are in what we read.
      const gone = code !== 'running';
      const events = logEvents(await readLog(log));
      const ready = events.find((e) => e.event === 'ready');
      if (ready && !gone) {
        const entry: BackgroundTunnel = {
          pid: child.pid!,
          env,
          db,
          host: String(ready.host),
          port: Number(ready.port),
          sessionId: String(ready.sessionId),
          config,
          startedAt: new Date().toISOString(),
          log,
        };
        await writePrivateFile(path.join(dir, `${entryName(env, db)}.json`), JSON.stringify(entry, null, 2));
        return entry;
      }
      const error = events.find((e) => e.event === 'error');
      if (error || gone) {
        if (!gone) child.kill('SIGTERM');
        throw new TunnelError(
          (error?.kind as never) ?? 'startFailed',
          String(error?.message ?? `the background dbtunnel for ${env} ${db} exited (${String(code)})`),
          {
            details: (error?.details as string[] | undefined) ?? [],
            hint: (error?.hint as string | undefined) ?? `See ${log}.`,
          },
        );
      }
      if (signal.aborted) {
        // SIGTERM: it stops its plugin with SIGINT and terminates its session, if it had one yet.
        child.kill('SIGTERM');
        // The bound must not itself keep this process up once the child has gone: unref.
        await Promise.race([exited, new Promise((r) => setTimeout(r, STOP_WAIT_MS).unref())]);
        throw new TunnelError('cancelled', `Cancelled while ${env} ${db} was opening.`);
      }
      if (Date.now() > deadline) {
        child.kill('SIGTERM');
        throw new TunnelError('startFailed', `The background dbtunnel for ${env} ${db} did not get ready.`, {
          hint: `See ${log}.`,
        });
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    child.unref();
  }
}

/** Every live background tunnel as it is now: its state and current session, from its log. */
export async function backgroundTunnelsNow(): Promise<
  (BackgroundTunnel & { state: 'up' | 'reconnecting' | 'down'; attempt?: number })[]
> {
  // The entry holds the first session; after a reconnect the log knows the current one.
  return Promise.all(
    (await backgroundTunnels()).map(async (t) => {
      const events = logEvents(await readLog(t.log));
      // No log to read (removed by hand): the entry, written when it was ready, is all there is.
      const now =
        events.length > 0 ? tunnelState(events) : { state: 'up' as const, sessionId: t.sessionId, attempt: undefined };
      return {
        ...t,
        sessionId: now.sessionId ?? t.sessionId,
        state: now.state,
        ...(now.attempt !== undefined && { attempt: now.attempt }),
      };
    }),
  );
}

export async function psCommand(args: { json: boolean }, term: Terminal): Promise<number> {
  const list = await backgroundTunnelsNow();
  if (args.json) {
    term.json(list);
    return EXIT.ok;
  }
  if (list.length === 0) {
    term.info('No tunnels are up in the background. dbtunnel up -d <env> <db> opens one.');
    return EXIT.ok;
  }
  const state = (t: (typeof list)[number]) =>
    t.state === 'reconnecting' ? `reconnecting (attempt ${t.attempt})` : t.state;
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

export async function downCommand(
  args: { env: string | undefined; db: string | undefined },
  term: Terminal,
): Promise<number> {
  const list = (await backgroundTunnels()).filter(
    (t) => (!args.env || t.env === args.env) && (!args.db || t.db === args.db),
  );
  if (list.length === 0) {
    term.info(`Nothing to close${args.env ? ` for ${[args.env, args.db].filter(Boolean).join(' ')}` : ''}.`);
    return EXIT.ok;
  }
  await Promise.all(list.map((t) => closeBackground(t, term, true)));
  return EXIT.ok;
}

/** Close a background tunnel properly and forget it; `say`: print that it was closed. */
async function closeBackground(
  t: Pick<BackgroundTunnel, 'pid' | 'env' | 'db' | 'host' | 'port'>,
  term: Terminal,
  say: boolean,
): Promise<void> {
  // SIGTERM: the background dbtunnel stops its plugin with SIGINT and terminates the session.
  try {
    process.kill(t.pid, 'SIGTERM');
  } catch {
    // gone since it was listed: nothing to stop
  }
  const until = Date.now() + STOP_WAIT_MS;
  while (alive(t.pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  if (alive(t.pid)) {
    term.warn(`${t.env} ${t.db} (pid ${t.pid}) did not stop within ${STOP_WAIT_MS / 1000} s.`);
    return;
  }
  await rm(path.join(stateDir(), `${entryName(t.env, t.db)}.json`), { force: true });
  if (say) term.success(`closed ${t.env} ${t.db} (${formatAddress(t.host, t.port)})`, 'stdout');
}
