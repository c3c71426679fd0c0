// Running session-manager-plugin: its own process group (the terminal's Ctrl-C, Ctrl-Z and Ctrl-\
// reach dbtunnel, never the plugin, which treats them all as "terminate"), output read as it
// comes, and stopped with SIGINT so it tells the agent (SIGTERM kills it without telling anyone).
import { spawn } from 'node:child_process';
import { PluginOutputReader, type PluginEvent } from './output.js';
import type { PluginInvocation } from './argv.js';

export interface PluginExit {
  code: number | undefined;
  signal: string | undefined;
}

export interface RunningPlugin {
  readonly pid: number;
  /** Resolves when the process has exited, with everything it printed already read. */
  readonly exited: Promise<PluginExit>;
  /** The last text it printed (stdout and stderr), for error messages. */
  lastOutput(): string;
  /** SIGINT, wait up to `graceMs`, then SIGKILL. Resolves once it is gone. */
  stop(graceMs?: number): Promise<PluginExit & { forced: boolean }>;
}

export const STOP_GRACE_MS = 3000;

/**
 * If dbtunnel itself is killed (SIGKILL leaves no chance to clean up), no plugin may keep its port:
 * one tiny shell per dbtunnel, in its own process group, reads a pipe from dbtunnel, on which each
 * plugin is announced when it starts (`+pid`) and dismissed when it has exited (`-pid`). When the
 * pipe closes — dbtunnel has exited, however it went — the shell stops the plugins still announced
 * as dbtunnel would (SIGINT, so that each tells the agent; SIGKILL after the grace period); after a
 * normal close there are none, and it just leaves. One shell for all tunnels: five tunnels start
 * five plugins, not ten processes. Its first argument is dbtunnel's pid, to be found by `ps`.
 */
export const WATCHDOG = `pids=" "
while read -r line; do
  case "$line" in
    +*) pids="$pids\${line#+} " ;;
    -*) keep=" "; for p in $pids; do [ "$p" = "\${line#-}" ] || keep="$keep$p "; done; pids=$keep ;;
  esac
done
for p in $pids; do kill -INT "$p" 2>/dev/null; done
i=0
while [ $i -lt ${STOP_GRACE_MS / 100} ]; do
  alive=""; for p in $pids; do kill -0 "$p" 2>/dev/null && alive="$alive $p"; done
  [ -z "$alive" ] && exit 0
  pids=$alive; sleep 0.1; i=$((i+1))
done
for p in $pids; do kill -KILL "$p" 2>/dev/null; done`;

interface Watchdog {
  watch(pid: number): void;
  dismiss(pid: number): void;
}

let watchdog: Watchdog | undefined;

function theWatchdog(): Watchdog {
  if (watchdog) return watchdog;
  if (process.platform === 'win32') return (watchdog = { watch() {}, dismiss() {} });
  const dog = spawn('sh', ['-c', WATCHDOG, 'dbtunnel-watchdog', String(process.pid)], {
    stdio: ['pipe', 'ignore', 'ignore'],
    detached: true,
  });
  dog.on('error', () => {}); // no sh: no watchdog, nothing else changes
  dog.stdin.on('error', () => {});
  dog.unref();
  // The pipe must not keep dbtunnel running; it closes when dbtunnel's process ends.
  (dog.stdin as unknown as { unref?: () => void }).unref?.();
  const say = (line: string) => {
    if (dog.stdin.writable) dog.stdin.write(`${line}\n`);
  };
  return (watchdog = { watch: (pid) => say(`+${pid}`), dismiss: (pid) => say(`-${pid}`) });
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
): RunningPlugin {
  const child = spawn(file, invocation.argv, {
    env: pluginEnvironment(baseEnv, invocation.env),
    detached: true, // own process group: terminal signals go to dbtunnel alone
    stdio: ['ignore', 'pipe', 'pipe'],
    windowsHide: true,
  });
  const reader = new PluginOutputReader();
  let stderrTail = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => reader.feed(chunk).forEach(onEvent));
  child.stderr.on('data', (chunk: string) => {
    stderrTail = (stderrTail + chunk).slice(-2000);
  });
  // 'close' comes once the process has exited and its output has been read to the end; a plugin
  // that could not be started at all (deleted or made non-executable since it was found) gives
  // only 'error', and that is an exit too.
  const exited = new Promise<PluginExit>((resolve) => {
    child.once('close', (code, signal) => resolve({ code: code ?? undefined, signal: signal ?? undefined }));
    child.once('error', (e: NodeJS.ErrnoException) => {
      if (child.pid !== undefined) return; // a failed kill(): the 'close' above still comes
      stderrTail = `${file}: ${e.message}`;
      resolve({ code: undefined, signal: undefined });
    });
  }).then((exit) => {
    reader.end().forEach(onEvent);
    return exit;
  });
  const pid = child.pid;
  if (pid !== undefined) theWatchdog().watch(pid);
  let gone = false;
  void exited.then(() => {
    gone = true;
    if (pid !== undefined) theWatchdog().dismiss(pid);
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
