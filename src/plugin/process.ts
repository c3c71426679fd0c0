// Running session-manager-plugin: its own process group (the terminal's Ctrl-C, Ctrl-Z and Ctrl-\
// reach dbtunnel, never the plugin, which treats them all as "terminate"), output read as it
// comes, and stopped with SIGINT so it tells the agent (SIGTERM kills it without telling anyone).
import type { RunningSession, SessionExit } from '../session-client.js';
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { execa } from 'execa';
import { lineSplitter, PluginOutputReader, type PluginEvent } from './output.js';
import type { PluginInvocation } from './argv.js';

export const STOP_GRACE_MS = 3000;

/**
 * If dbtunnel itself is killed (SIGKILL leaves no chance to clean up), the plugin must not keep the
 * port: a tiny shell per plugin, in its own process group, holds a pipe from dbtunnel; when the pipe
 * closes without dbtunnel having dismissed it, it stops the plugin as dbtunnel would (SIGINT, so
 * that it tells the agent; SIGKILL after the grace period).
 *
 * The shell also holds the other end of the plugin's stdout and stderr (as fds 3 and 4, never read).
 * Without it, once dbtunnel is gone the plugin's next line ("Terminate signal received") would go to
 * a socket nobody holds; the real plugin is a Go program, and Go exits on SIGPIPE for fds 1 and 2 —
 * before telling the agent, leaving the session open on AWS's side.
 */
const WATCHDOG =
  `read _ignored; kill -INT "$1" 2>/dev/null; i=0; while kill -0 "$1" 2>/dev/null && [ $i ` +
  `-lt ${STOP_GRACE_MS / 100} ]; do sleep 0.1; i=$((i+1)); done; kill -KILL "$1" 2>/dev/null`;

/** The descriptor under a child's output stream (Node keeps it on the stream's handle); 'ignore' if none. */
function descriptorOf(stream: Readable): number | 'ignore' {
  const fd = (stream as unknown as { _handle?: { fd?: number } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : 'ignore';
}

function startWatchdog(plugin: {
  pid?: number | undefined;
  stdout: Readable;
  stderr: Readable;
}): { dismiss(): void } | undefined {
  if (process.platform === 'win32' || plugin.pid === undefined) return undefined;
  const dog = spawn('sh', ['-c', WATCHDOG, 'dbtunnel-watchdog', String(plugin.pid)], {
    // By descriptor: a stream handed to spawn() would stop being read here.
    stdio: ['pipe', 'ignore', 'ignore', descriptorOf(plugin.stdout), descriptorOf(plugin.stderr)],
    detached: true,
  });
  dog.on('error', () => {}); // no sh: no watchdog, nothing else changes
  dog.stdin?.on('error', () => {});
  dog.unref();
  // The pipe must not keep dbtunnel running; it closes when dbtunnel's process ends.
  (dog.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  return { dismiss: () => dog.kill('SIGKILL') };
}

/** The plugin's environment: ours, with the invocation's additions and removals. Pure. */
export function pluginEnvironment(base: NodeJS.ProcessEnv, add: PluginInvocation['env']): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) if (v !== undefined) env[k] = v;
  for (const [k, v] of Object.entries(add)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

export function spawnPlugin(
  file: string,
  invocation: PluginInvocation,
  baseEnv: NodeJS.ProcessEnv,
  onEvent: (e: PluginEvent) => void,
  /** Each line the plugin prints, as printed (for --debug). */
  onLine: (stream: 'stdout' | 'stderr', line: string) => void = () => {},
): RunningSession {
  const child = execa(file, invocation.argv, {
    env: pluginEnvironment(baseEnv, invocation.env),
    extendEnv: false, // exactly the environment above: the session token's variable only where it belongs
    detached: true, // own process group: terminal signals go to dbtunnel alone
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
    buffer: false, // read here as it comes, line by line; nothing kept
    reject: false, // how it exited is an event of the run, not an exception
    // Stopped by dbtunnel alone, with SIGINT (so that it tells the agent): execa's own SIGTERM on
    // dbtunnel's exit and its SIGKILL after a delay would end it without telling anyone.
    cleanup: false,
    forceKillAfterDelay: false,
    windowsHide: true,
  });
  const reader = new PluginOutputReader();
  const outLines = lineSplitter((line) => onLine('stdout', line));
  const errLines = lineSplitter((line) => onLine('stderr', line));
  let stderrTail = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    outLines.feed(chunk);
    reader.feed(chunk).forEach(onEvent);
  });
  child.stderr.on('data', (chunk: string) => {
    errLines.feed(chunk);
    stderrTail = (stderrTail + chunk).slice(-2000);
  });
  // 'close' comes once the process has exited and its output has been read to the end; a plugin
  // that could not be started at all (deleted or made non-executable since it was found) gives
  // only 'error', and that is an exit too.
  const exited = new Promise<SessionExit>((resolve) => {
    child.once('close', (code, signal) => resolve({ code: code ?? undefined, signal: signal ?? undefined }));
    child.once('error', (e: NodeJS.ErrnoException) => {
      if (child.pid !== undefined) return; // a failed kill(): the 'close' above still comes
      stderrTail = `${file}: ${e.message}`;
      resolve({ code: undefined, signal: undefined });
    });
  }).then((exit) => {
    outLines.end();
    errLines.end();
    reader.end().forEach(onEvent);
    return exit;
  });
  const watchdog = startWatchdog(child);
  let gone = false;
  void exited.then(() => {
    gone = true;
    watchdog?.dismiss();
  });

  return {
    pid: child.pid ?? -1,
    exited,
    lastOutput: () => [reader.lastOutput, stderrTail.trim()].filter(Boolean).join('\n'),
    async stop(graceMs = STOP_GRACE_MS) {
      if (gone) return { ...(await exited), forced: false };
      child.kill('SIGINT');
      const timer = new Promise<'late'>((r) => setTimeout(() => r('late'), graceMs).unref());
      if ((await Promise.race([exited, timer])) !== 'late') return { ...(await exited), forced: false };
      child.kill('SIGKILL');
      return { ...(await exited), forced: true };
    },
  };
}
