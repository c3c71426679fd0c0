// The client side of the background supervisor: `up -d`, `ps`, `down` and `logs` reach it here. One
// supervisor serves each AWS environment (paths.ts): `up -d` talks to the one of its own environment,
// starting it if none answers; `ps`, `down` and `logs` ask every supervisor of the user.
import { spawn } from 'node:child_process';
import { lstat, open, readdir, rename, rm, stat, truncate } from 'node:fs/promises';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { TunnelError } from '../errors.js';
import { KiB, MiB, readBoundedFile, readFileTail } from '../files.js';
import { ensurePrivateDir, privateDirProblem } from '../private-dir.js';
import { posixQuote } from '../shell-quote.js';
import {
  backgroundDir,
  installId,
  keysIn,
  MAX_SOCKET_PATH,
  type SupervisorFiles,
  supervisorFiles,
  supervisorKey,
} from './paths.js';
import { decodeReply, encode, type HeldTunnel, lineReader, type Reply, type Request } from './protocol.js';

/** How long a new supervisor is given to say it listens. */
const START_WAIT_MS = 15_000;
/** Its log is started afresh when it has grown past this. */
const LOG_LIMIT = 4 * MiB;

/** One connection to a supervisor; requests are answered in turn, each ending with 'done'. */
export class SupervisorConnection {
  private waiting: { onReply: (r: Reply) => void; resolve: () => void; reject: (e: unknown) => void } | undefined;
  private gone: unknown;

  private constructor(
    private readonly socket: net.Socket,
    readonly files: SupervisorFiles,
  ) {
    socket.setEncoding('utf8');
    socket.on(
      'data',
      lineReader(
        (line) => this.received(decodeReply(line)),
        () => this.fail(unreadable(files)),
      ),
    );
    socket.on('error', (e) => this.fail(e));
    socket.on('close', () =>
      this.fail(
        new TunnelError('startFailed', 'The background supervisor closed the connection.', { hint: logHint(files) }),
      ),
    );
  }

  /** Connected, or undefined where no supervisor listens there (no socket, or a stale one). */
  static connect(files: SupervisorFiles): Promise<SupervisorConnection | undefined> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(files.socket);
      socket.once('connect', () => {
        socket.removeAllListeners('error');
        resolve(new SupervisorConnection(socket, files));
      });
      socket.once('error', (e: NodeJS.ErrnoException) => {
        if (['ENOENT', 'ECONNREFUSED', 'ENOTSOCK'].includes(e.code ?? '')) resolve(undefined);
        else
          reject(
            new TunnelError('startFailed', `Could not reach the background supervisor: ${e.code ?? e.message}.`, {
              hint: logHint(files),
            }),
          );
      });
    });
  }

  /** Send a request; each reply goes to `onReply` until 'done'. Rejects if the connection ends first. */
  ask(request: Request, onReply: (r: Reply) => void = () => {}): Promise<void> {
    if (this.gone) return Promise.reject(this.gone);
    return new Promise((resolve, reject) => {
      this.waiting = { onReply, resolve, reject };
      this.socket.write(encode(request));
    });
  }

  /** Send without waiting (a cancel, while an `up` is answered). */
  tell(request: Request): void {
    if (!this.gone) this.socket.write(encode(request));
  }

  close(): void {
    this.gone ??= new TunnelError('internal', 'closed');
    this.socket.destroy();
  }

  private received(reply: Reply | undefined) {
    const w = this.waiting;
    if (!reply) return this.fail(unreadable(this.files));
    if (reply.type === 'not-me') return this.fail(new NotTheSupervisor());
    if (!w) return;
    if (reply.type === 'done') {
      this.waiting = undefined;
      w.resolve();
    } else w.onReply(reply);
  }

  private fail(e: unknown) {
    this.gone ??= e;
    const w = this.waiting;
    this.waiting = undefined;
    w?.reject(this.gone);
    this.socket.destroy();
  }
}

/** The supervisor whose socket was asked was replaced by another meanwhile: connect again. */
class NotTheSupervisor extends Error {}

function unreadable(files: SupervisorFiles): TunnelError {
  return new TunnelError('internal', 'The background supervisor answered something dbtunnel cannot read.', {
    hint: logHint(files),
  });
}

function logHint(files: SupervisorFiles): string {
  return `Its log says more: ${posixQuote(files.log)}`;
}

/** The directory, made and checked, for a command that starts a supervisor. */
async function privateBackgroundDir(): Promise<string> {
  const dir = backgroundDir();
  const problem = await ensurePrivateDir(dir);
  if (problem) {
    throw new TunnelError('config', `dbtunnel keeps its background supervisor in ${dir}, and ${problem}.`, {
      hint: `Make it yours alone (chmod 700 ${posixQuote(dir)}), or remove it and run again.`,
    });
  }
  return dir;
}

/**
 * The supervisor of this environment, started if none answers. Two clients starting one at once
 * get the same: the supervisors settle which serves (supervisor.ts), and the other leaves.
 */
export async function reachSupervisor(): Promise<SupervisorConnection> {
  const dir = await privateBackgroundDir();
  const files = supervisorFiles(dir, supervisorKey(process.env, installId()));
  if (files.socket.length > MAX_SOCKET_PATH) {
    throw new TunnelError(
      'config',
      `The background supervisor's socket would be ${files.socket}, too long a path for a socket.`,
      {
        hint: 'Set XDG_RUNTIME_DIR to a shorter directory of your own (mode 0700).',
      },
    );
  }
  for (let attempt = 0; attempt < 3; attempt++) {
    const connection = await SupervisorConnection.connect(files);
    if (connection) {
      // The one the path names now? A supervisor replaced since would answer 'not-me'.
      try {
        await connection.ask({ type: 'list' });
        return connection;
      } catch (e) {
        if (!(e instanceof NotTheSupervisor)) throw e;
        continue;
      }
    }
    await startSupervisor(files);
  }
  throw new TunnelError('startFailed', 'The background supervisor could not be reached.', { hint: logHint(files) });
}

/** Start a supervisor and wait until it says it serves (or that another does). */
async function startSupervisor(files: SupervisorFiles): Promise<void> {
  if (((await stat(files.log).catch(() => undefined))?.size ?? 0) > LOG_LIMIT)
    await truncate(files.log, 0).catch(() => {});
  const log = await open(files.log, 'a', 0o600);
  const bin = fileURLToPath(new URL('../bin/dbtunnel', import.meta.url));
  // Its own session (no terminal, no SIGHUP when this shell closes); its output to its log, but for
  // the one line that says it listens.
  const child = spawn(process.execPath, [bin, '__supervisor'], {
    detached: true,
    stdio: ['ignore', 'pipe', log.fd],
    env: process.env,
  });
  await log.close();
  try {
    const said = await new Promise<string | undefined>((resolve) => {
      let out = '';
      const timer = setTimeout(() => resolve(undefined), START_WAIT_MS);
      child.stdout!.setEncoding('utf8');
      child.stdout!.on('data', (chunk: string) => {
        out += chunk;
        if (out.includes('\n')) {
          clearTimeout(timer);
          resolve(out.split('\n')[0]);
        }
      });
      child.once('exit', () => {
        clearTimeout(timer);
        resolve(undefined);
      });
      child.once('error', () => resolve(undefined));
    });
    if (said === 'ready' || said === 'other') return;
    const last = (await readFileTail(files.log, 2 * KiB).catch(() => Buffer.alloc(0)))
      .toString('utf8')
      .trim()
      .split('\n')
      .at(-1);
    throw new TunnelError('startFailed', 'The background supervisor did not start.', {
      details: last ? [last] : [],
      hint: logHint(files),
    });
  } finally {
    child.stdout?.destroy();
    child.unref();
  }
}

/** Every supervisor of this user that answers, and what those that died held (reported once). */
export async function everySupervisor(): Promise<{ connections: SupervisorConnection[]; lost: HeldTunnel[] }> {
  const dir = backgroundDir();
  const st = await lstat(dir).catch(() => undefined);
  if (!st) return { connections: [], lost: [] };
  const problem = privateDirProblem(st, process.getuid?.());
  if (problem) {
    throw new TunnelError('config', `dbtunnel keeps its background supervisor in ${dir}, and ${problem}.`, {
      hint: `Make it yours alone (chmod 700 ${posixQuote(dir)}), or remove it and run again.`,
    });
  }
  const connections: SupervisorConnection[] = [];
  const lost: HeldTunnel[] = [];
  for (const key of keysIn(await readdir(dir))) {
    const files = supervisorFiles(dir, key);
    const connection = await SupervisorConnection.connect(files);
    if (connection) connections.push(connection);
    // A supervisor killed (SIGKILL, a crash) left what it held: the next one or this moves it to `lost`.
    else await rename(files.held, files.lost).catch(() => {});
    lost.push(...(await readLost(files)));
  }
  return { connections, lost };
}

/** The tunnels in a `lost` file, which is removed: each is reported once. */
async function readLost(files: SupervisorFiles): Promise<HeldTunnel[]> {
  let text: string;
  try {
    text = (await readBoundedFile(files.lost, 256 * KiB)).toString('utf8');
  } catch {
    return [];
  }
  await rm(files.lost, { force: true });
  const reply = decodeReply(JSON.stringify({ type: 'list', tunnels: safeParse(text) }));
  return reply?.type === 'list' ? reply.tunnels : [];
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return [];
  }
}
