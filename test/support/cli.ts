// Running bin/dbtunnel as a user does: a child process, its output read as it comes, signals sent.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { track } from './processes.js';

export const BIN = fileURLToPath(new URL('../../bin/dbtunnel', import.meta.url));

export interface Running {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the match once stdout+stderr matches, rejects if it exits first or times out. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startDbtunnel(
  args: string[],
  env: Record<string, string>,
  opts: { input?: string; cwd?: string; openFiles?: number } = {},
): Running {
  // `openFiles`: the process's limit on open files (a shell's ulimit -n, then exec: the child is node itself).
  const [cmd, argv] =
    opts.openFiles === undefined
      ? [process.execPath, [BIN, ...args]]
      : ['/bin/sh', ['-c', `ulimit -n ${opts.openFiles} && exec "$@"`, 'sh', process.execPath, BIN, ...args]];
  const child = track(spawn(cmd, argv, { env, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] }));
  let out = '';
  let err = '';
  const waiters = new Set<() => void>();
  const poke = () => {
    for (const w of waiters) w();
  };
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    poke();
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    err += d;
    poke();
  });
  if (opts.input !== undefined) child.stdin!.end(opts.input);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  let done = false;
  void exited.then(() => {
    done = true;
    poke();
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor(re, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = re.exec(out + err);
          if (m) {
            cleanup();
            resolve(m);
          } else if (done) {
            cleanup();
            reject(new Error(`dbtunnel exited before printing ${re}:\n--- stdout\n${out}\n--- stderr\n${err}`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out waiting for ${re}:\n--- stdout\n${out}\n--- stderr\n${err}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
  };
}

export async function runDbtunnel(
  args: string[],
  env: Record<string, string>,
  opts: { input?: string; cwd?: string } = {},
) {
  const r = startDbtunnel(args, env, { input: opts.input ?? '', cwd: opts.cwd });
  const { code, signal } = await r.exited;
  return { code, signal, stdout: r.stdout(), stderr: r.stderr() };
}

/** Is a process with this pid still alive? */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('condition not met in time');
}
