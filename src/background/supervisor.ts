// The background supervisor: one dbtunnel process per user (and per AWS environment, paths.ts) that
// holds the tunnels `up -d` asks for, each run by the same code as a tunnel in the foreground
// (src/tunnel/run.ts: preflight, explanations, reconnects, closing on every path). It answers
// `up -d`, `ps`, `down` and `logs` over its socket (protocol.ts), one request at a time for each
// database — two `up -d` of one database get one tunnel — and leaves once it holds none.
//
// It is the supervisor only while the socket's path names its own socket: it listens on a name of
// its own first, then renames that over the path (replacing a stale socket). Should two start at
// once, the one whose socket the path names serves; the other sees so and leaves. It signals no
// process but the plugins its runs started.
import { open, rename, rm, stat } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { TunnelError } from '../errors.js';
import type { TunnelSpec } from '../model.js';
import { ensurePrivateDir, writePrivateFile } from '../private-dir.js';
import { redact, redactDeep, registerSecretsOf } from '../secrets.js';
import { realDeps } from '../tunnel/deps.js';
import { destinationFailedText, type EventRecord, toRecord } from '../tunnel/events.js';
import { preparePlugin } from '../tunnel/plugin-setup.js';
import { type RunDeps, type RunOutcome, runTunnels, type StopReason } from '../tunnel/run.js';
import { nextHeld } from './held.js';
import { withLock } from './lock.js';
import { backgroundDir, installId, MAX_SOCKET_PATH, supervisorFiles, supervisorKey } from './paths.js';
import {
  decodeRequest,
  encode,
  type HeldTunnel,
  lineReader,
  type Reply,
  type Request,
  type UpRequest,
  type WireError,
} from './protocol.js';

/** How long it waits for its first request, and lingers once it holds nothing. */
const FIRST_REQUEST_MS = 15_000;
const IDLE_EXIT_MS = 2_000;
/** The last log lines kept for each tunnel (and for a few that ended). */
const LOG_LINES = 1000;
const ENDED_KEPT = 20;

interface LogLine {
  at: string;
  record: EventRecord;
}

interface Entry {
  env: string;
  db: string;
  config: string;
  startedAt: string;
  stop: AbortController;
  outcome: Promise<RunOutcome>;
  /** Resolves once its port is open; rejects when it could not open. */
  ready: Promise<HeldTunnel>;
  tunnel: HeldTunnel | undefined;
  log: LogLine[];
  followers: Set<(line: LogLine) => void>;
}

const keyOf = (env: string, db: string) => `${env}\u0000${db}`;

/** What one client connection asked for: what its `up` started, and whether it was cancelled. */
interface Asker {
  started: Entry[];
  cancelled: boolean;
  upsPending: number;
}

/**
 * Serve until nothing is held. `announce` tells whoever started this process, once, whether it is
 * the supervisor now ('ready') or found one already serving ('other'); the rest goes to stderr.
 */
export async function runSupervisor(announce: (line: 'ready' | 'other') => void): Promise<number> {
  registerSecretsOf(process.env);
  const say = (text: string) => process.stderr.write(`${new Date().toISOString()} ${redact(text)}\n`);
  const dir = backgroundDir();
  const problem = await ensurePrivateDir(dir);
  if (problem) {
    say(`${dir}: ${problem}`);
    return 10;
  }
  const files = supervisorFiles(dir, supervisorKey(process.env, installId()));
  if (files.socket.length > MAX_SOCKET_PATH) {
    say(`${files.socket} is too long a path for a socket: set XDG_RUNTIME_DIR to a shorter directory`);
    return 10;
  }

  const entries = new Map<string, Entry>();
  const ended: Entry[] = [];
  const queues = new Map<string, Promise<unknown>>();
  const connections = new Set<net.Socket>();
  let leaving = false;
  let idleTimer: NodeJS.Timeout | undefined;

  // One check of the plugin and one AWS context per profile and region, shared by the runs.
  const plugins = new Map<string, ReturnType<typeof preparePlugin>>();
  const contexts = new Map<string, ReturnType<RunDeps['connectAws']>>();
  const depsFor = (request: UpRequest, onLine: (m: string) => void): RunDeps => {
    const choice = request.plan.sessionClient ?? 'auto';
    let plugin = plugins.get(choice);
    if (!plugin) {
      plugin = preparePlugin(process.env, false, () => {}, choice);
      plugins.set(choice, plugin);
      plugin.catch(() => plugins.delete(choice)); // asked again next time (installed meanwhile)
    }
    const real = realDeps(request.plan, plugin, { mfaCode: undefined, warn: onLine, debug: () => {} });
    const id = `${request.plan.profile ?? ''}\u0000${request.plan.region ?? ''}`;
    return {
      ...real,
      connectAws: () => {
        let context = contexts.get(id);
        if (!context) {
          context = real.connectAws();
          contexts.set(id, context);
          context.catch(() => contexts.delete(id)); // a failure is not kept: the next try resolves again
        }
        return context;
      },
    };
  };

  const held = () => [...entries.values()].flatMap((e) => (e.tunnel ? [e.tunnel] : []));
  const remember = async () => {
    if (leaving) return;
    await writePrivateFile(files.held, JSON.stringify(held())).catch((e: unknown) =>
      say(`could not write ${files.held}: ${String(e)}`),
    );
  };
  const idleCheck = () => {
    if (idleTimer) clearTimeout(idleTimer);
    // Held open while it holds a tunnel, or a request is being answered, or a client is connected.
    if (entries.size > 0 || queues.size > 0 || connections.size > 0 || leaving) return;
    idleTimer = setTimeout(() => void leave('idle'), IDLE_EXIT_MS);
  };

  /** Start one database's tunnel; its reply once it is ready (or could not open). */
  const start = (request: UpRequest, spec: TunnelSpec): Entry => {
    const stop = new AbortController();
    const log: LogLine[] = [];
    const followers = new Set<(line: LogLine) => void>();
    let readyResolve!: (t: HeldTunnel) => void;
    let readyReject!: (e: unknown) => void;
    const ready = new Promise<HeldTunnel>((resolve, reject) => {
      readyResolve = resolve;
      readyReject = reject;
    });
    ready.catch(() => {});
    const entry: Entry = {
      env: spec.env,
      db: spec.db,
      config: request.config,
      startedAt: new Date().toISOString(),
      stop,
      ready,
      tunnel: undefined,
      log,
      followers,
      outcome: Promise.resolve({ kind: 'done', result: 0 }),
    };
    const add = (record: EventRecord) => {
      const line = { at: new Date().toISOString(), record };
      log.push(line);
      if (log.length > LOG_LINES) log.shift();
      for (const f of followers) f(line);
    };
    const onLine = (message: string) => add({ event: 'warning', message });
    entry.outcome = runTunnels(
      {
        plan: { ...request.plan, tunnels: [spec] },
        startTimeoutMs: request.timeoutMs,
        env: process.env,
        signal: stop.signal,
        reconnect: request.reconnect,
        onEvent: (e) => {
          const record = toRecord(e);
          if (record) add(record);
          else if (e.type === 'destination-failed') {
            onLine(destinationFailedText(e.tunnel, e.diagnosing));
          }
          entry.tunnel = nextHeld(entry.tunnel, e, { config: entry.config, pid: process.pid, now: () => new Date() });
          if (e.type === 'ready' && entry.tunnel) {
            readyResolve(entry.tunnel);
            void remember();
          }
        },
      },
      depsFor(request, onLine),
    );
    entry.outcome
      .then(
        (outcome) => {
          add({ event: 'closed', reason: outcome.kind === 'stopped' ? outcome.reason : outcome.kind });
          readyReject(
            new TunnelError('startFailed', `The tunnel for ${spec.env} ${spec.db} closed before it was ready.`),
          );
        },
        (e: unknown) => {
          add({ event: 'error', ...wire(e) });
          readyReject(e);
        },
      )
      .finally(() => {
        if (entries.get(keyOf(entry.env, entry.db)) === entry) entries.delete(keyOf(entry.env, entry.db));
        ended.push(entry);
        if (ended.length > ENDED_KEPT) ended.shift();
        for (const f of followers) f({ at: new Date().toISOString(), record: { event: 'gone' } });
        void remember();
        idleCheck();
      });
    entries.set(keyOf(spec.env, spec.db), entry);
    return entry;
  };

  /** One request at a time for each database: the second `up -d` of one database finds the first's tunnel. */
  const serially = <T>(key: string, work: () => Promise<T>): Promise<T> => {
    const before = queues.get(key) ?? Promise.resolve();
    const mine = before.then(work, work);
    const settled = mine.then(
      () => {},
      () => {},
    );
    queues.set(key, settled);
    void settled.then(() => {
      if (queues.get(key) === settled) queues.delete(key);
      idleCheck();
    });
    return mine;
  };

  const up = async (request: UpRequest, send: (r: Reply) => void, asker: Asker) => {
    await Promise.all(
      request.plan.tunnels.map((spec) =>
        serially(keyOf(spec.env, spec.db), async () => {
          if (asker.cancelled) {
            send({ type: 'error', db: spec.db, error: cancelled(spec) });
            return;
          }
          const existing = entries.get(keyOf(spec.env, spec.db));
          if (existing && existing.config !== request.config) {
            const where = existing.tunnel ? formatHost(existing.tunnel) : 'opening';
            send({
              type: 'error',
              db: spec.db,
              error: {
                kind: 'usage',
                message: `${spec.env} ${spec.db} is already up in the background from another config (${where}).`,
                details: [`Its config: ${existing.config}`],
                hint: `dbtunnel down ${spec.env} ${spec.db} closes it.`,
              },
            });
            return;
          }
          const tunnel = await existing?.ready.catch(() => undefined);
          if (existing && tunnel && entries.get(keyOf(spec.env, spec.db)) === existing) {
            send({ type: 'tunnel', tunnel: existing.tunnel ?? tunnel, already: true });
            return;
          }
          if (asker.cancelled) {
            send({ type: 'error', db: spec.db, error: cancelled(spec) });
            return;
          }
          const entry = start(request, spec);
          asker.started.push(entry);
          try {
            send({ type: 'tunnel', tunnel: await entry.ready, already: false });
          } catch (e) {
            send({ type: 'error', db: spec.db, error: asker.cancelled ? cancelled(spec) : wire(e) });
          }
        }),
      ),
    );
    // Cancelled: what it started is closed before it hears 'done' (the tunnels that were ready too).
    if (asker.cancelled) await Promise.all(asker.started.map((e) => e.outcome.catch(() => {})));
  };

  const close = async (which: Entry[], send: (r: Reply) => void, reason: StopReason) => {
    await Promise.all(
      which.map(async (e) => {
        const last = e.tunnel;
        e.stop.abort(reason);
        await e.outcome.catch(() => {});
        if (last) send({ type: 'closed', tunnel: last });
      }),
    );
  };

  const matching = (env: string | undefined, db: string | undefined, list: Iterable<Entry>) =>
    [...list].filter((e) => (!env || e.env === env) && (!db || e.db === db));

  const serve = (socket: net.Socket) => {
    connections.add(socket);
    if (idleTimer) clearTimeout(idleTimer);
    socket.setEncoding('utf8');
    // Secrets this process learnt (a session's token, its environment's keys) are redacted here:
    // the client, another process, does not know them.
    const send = (r: Reply) => {
      if (!socket.destroyed) socket.write(encode(redactDeep(r)));
    };
    const asker: Asker = { started: [], cancelled: false, upsPending: 0 };
    // Ctrl-C while up -d waits, or its process gone: close what its `up` started, ready or not.
    const cancel = () => {
      asker.cancelled = true;
      for (const e of asker.started) e.stop.abort('SIGINT');
    };
    let pending: Promise<unknown> = Promise.resolve();
    const handle = async (request: Request | undefined) => {
      // Still the supervisor the path names? One whose socket was replaced says so and leaves.
      if (!(await isMe())) {
        send({ type: 'not-me' });
        socket.end();
        void leave('its socket was replaced');
        return;
      }
      if (!request) {
        send({ type: 'error', error: protocolError('The supervisor could not read the request.') });
        socket.end();
        return;
      }
      switch (request.type) {
        case 'up':
          asker.upsPending++;
          try {
            await up(request, send, asker);
          } finally {
            asker.upsPending--;
          }
          send({ type: 'done' });
          return;
        case 'cancel':
          return; // handled as it came
        case 'list':
          send({ type: 'list', tunnels: held() });
          send({ type: 'done' });
          return;
        case 'down':
          await close(matching(request.env, request.db, entries.values()), send, 'SIGTERM');
          send({ type: 'done' });
          return;
        case 'logs':
          logs(request, send, socket);
          return;
      }
    };
    socket.on(
      'data',
      lineReader(
        (line) => {
          const request = decodeRequest(line);
          // A cancel must not wait behind the `up` it cancels.
          if (request?.type === 'cancel') cancel();
          pending = pending.then(() => handle(request));
          pending.catch((e: unknown) => say(`a request failed: ${String(e)}`));
        },
        () => {
          send({ type: 'error', error: protocolError('The supervisor got a line too long to be a request.') });
          socket.destroy();
        },
      ),
    );
    socket.on('error', () => {});
    socket.on('close', () => {
      if (asker.upsPending > 0) cancel();
      connections.delete(socket);
      idleCheck();
    });
  };

  const logs = (request: Extract<Request, { type: 'logs' }>, send: (r: Reply) => void, socket: net.Socket) => {
    const shown = matching(request.env, request.db, [...ended, ...entries.values()]);
    const lines = shown.flatMap((e) => e.log.map((l) => ({ e, l }))).sort((a, b) => a.l.at.localeCompare(b.l.at));
    for (const { e, l } of lines) send({ type: 'log', env: e.env, db: e.db, at: l.at, record: l.record });
    const live = matching(request.env, request.db, entries.values());
    if (!request.follow || live.length === 0) {
      send({ type: 'done' });
      return;
    }
    // Followed until each tunnel followed has closed (or the client goes).
    let open = live.length;
    for (const e of live) {
      const follow = (l: LogLine) => {
        if (l.record.event !== 'gone') {
          send({ type: 'log', env: e.env, db: e.db, at: l.at, record: l.record });
          return;
        }
        e.followers.delete(follow);
        if (--open === 0) send({ type: 'done' });
      };
      e.followers.add(follow);
      socket.once('close', () => e.followers.delete(follow));
    }
  };

  // Become the supervisor: listen on a name of our own, then, holding the lock, take the socket's
  // path unless a live supervisor answers there (a stale socket, its process gone, is replaced).
  const mine = path.join(dir, `.supervisor-${files.key}-${process.pid}.sock`);
  await rm(mine, { force: true });
  const server = net.createServer(serve);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(mine, resolve);
  });
  const ino = (await stat(mine)).ino;
  const took = await withLock(files.lock, async () => {
    if (await answers(files.socket)) return false;
    await rename(mine, files.socket);
    // What a supervisor that died held, for the next `ps` to report.
    await rename(files.held, files.lost).catch(() => {});
    return true;
  }).catch((e: unknown) => {
    say(`could not take ${files.socket}: ${String(e)}`);
    return false;
  });
  if (!took) {
    server.close();
    await rm(mine, { force: true });
    say('another supervisor serves this environment; leaving');
    announce('other');
    return 0;
  }
  const isMe = async () => (await stat(files.socket).catch(() => undefined))?.ino === ino;
  say(`supervising (pid ${process.pid}) on ${files.socket}`);
  announce('ready');

  let done!: (code: number) => void;
  const finished = new Promise<number>((resolve) => {
    done = resolve;
  });
  const leave = async (why: string) => {
    if (leaving) return;
    leaving = true;
    if (idleTimer) clearTimeout(idleTimer);
    say(`leaving: ${why}`);
    // Closed on purpose: nothing for `ps` to report as lost, even should this be killed while closing.
    await rm(files.held, { force: true });
    server.close();
    for (const e of entries.values()) e.stop.abort('SIGTERM');
    await Promise.all([...entries.values()].map((e) => e.outcome.catch(() => {})));
    if (await isMe()) await rm(files.socket, { force: true });
    for (const c of connections) c.destroy();
    done(0);
  };
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => void leave(sig));
  process.on('uncaughtException', (e) => {
    say(`unexpected error: ${e.stack ?? e.message}`);
    void leave('crash');
  });
  process.on('unhandledRejection', (e) => {
    say(`unexpected error: ${String(e)}`);
    void leave('crash');
  });
  // Whoever started it connects at once; should it not, nothing is left running.
  idleTimer = setTimeout(() => {
    if (entries.size === 0 && connections.size === 0) void leave('no request came');
  }, FIRST_REQUEST_MS);
  return finished;
}

function formatHost(t: HeldTunnel): string {
  return t.host.includes(':') ? `[${t.host}]:${t.port}` : `${t.host}:${t.port}`;
}

function protocolError(message: string): WireError {
  return { kind: 'internal', message, details: [], hint: undefined };
}

function cancelled(spec: TunnelSpec): WireError {
  return {
    kind: 'cancelled',
    message: `Cancelled while ${spec.env} ${spec.db} was opening.`,
    details: [],
    hint: undefined,
  };
}

function wire(e: unknown): WireError {
  if (e instanceof TunnelError) return { kind: e.kind, message: e.message, details: [...e.details], hint: e.hint };
  return { kind: 'internal', message: e instanceof Error ? e.message : String(e), details: [], hint: undefined };
}

/** Whether a supervisor answers on this socket (a stale one, or none, does not). */
export function answers(socket: string, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(socket);
    const timer = setTimeout(() => finish(false), timeoutMs);
    const finish = (yes: boolean) => {
      clearTimeout(timer);
      s.destroy();
      resolve(yes);
    };
    s.once('error', () => finish(false));
    s.setEncoding('utf8');
    s.once('connect', () => s.write(encode({ type: 'list' })));
    s.on(
      'data',
      lineReader(
        (line) => finish(!line.includes('"not-me"')),
        () => finish(false),
      ),
    );
  });
}

/** Its own output goes to its log file, opened by whoever starts it. */
export async function openLog(file: string) {
  return open(file, 'a', 0o600);
}
