// `dbtunnel <env> [db…] [-- command…]`: the CLI edge of one run. Loads the config, wires the real
// AWS, plugin and port edges into src/tunnel/run.ts, renders its events (for people, or as JSON),
// runs a `--` command, maps the outcome to an exit code.
import { constants } from 'node:os';
import { EXIT, TunnelError } from '../errors.js';
import { variableStem } from '../config/resolve.js';
import { formatAddress } from '../tunnel/port.js';
import type { OpenTunnel, ReconnectMode, StopReason, TunnelEvent } from '../tunnel/run.js';
import { clientHint } from '../tunnel/client-hint.js';
import { destinationFailedText, toRecord } from '../tunnel/events.js';
import type { SessionClientChoice } from '../model.js';
import { confirmProduction } from './confirm.js';
import { askMfaCode } from './mfa.js';
import { loadPlan, selectionOf, type TargetArgs } from './plan.js';
import type { Signals } from './signals.js';
import { pathText } from './path-text.js';
import type { Terminal } from './terminal.js';

export interface TunnelArgs extends TargetArgs {
  all: boolean;
  timeout: number;
  legacyPlugin: boolean;
  /** --session-client (else the config's, else auto). */
  sessionClient?: SessionClientChoice | undefined;
  yes: boolean;
  dryRun: boolean;
  /** What follows `--`, if anything. */
  command: string[] | undefined;
  reconnect: ReconnectMode | undefined;
  maxReconnects: number;
}

const EXIT_FOR_STOP: Record<StopReason, number> = {
  // Ctrl-C is how a person closes the tunnel they opened: a success. Signals from elsewhere keep
  // the shell's 128+N convention so scripts can tell them apart.
  SIGINT: EXIT.ok,
  SIGTERM: EXIT.sigterm,
  SIGHUP: EXIT.sighup,
  crash: EXIT.internal,
};

export async function tunnelCommand(args: TunnelArgs, term: Terminal, signals: Signals): Promise<number> {
  const { plan } = await loadPlan(args.config, selectionOf(args), term);
  if (args.dryRun) {
    const { dryRunCommands, dryRunScript } = await import('./dry-run.js');
    const steps = dryRunCommands(plan, args.sessionClient ?? plan.sessionClient);
    // The commands are what --dry-run is asked for: printed with --quiet too, as an event with --json.
    if (term.mode === 'json') term.event({ event: 'dry-run', commands: steps });
    else term.print(`${dryRunScript(steps)}\n`);
    return EXIT.ok;
  }
  if (plan.confirm && !args.yes)
    await confirmProduction(
      plan.env,
      plan.tunnels.map((t) => t.db),
      term,
    );
  warnAboutOldNode(term);
  // The plugin check goes first, so that its file reads and its `--version` process run while the
  // AWS SDK loads (with the run's real edges, only now that the config has been found valid).
  const pluginReady = import('../tunnel/plugin-setup.js').then(({ preparePlugin }) =>
    preparePlugin(
      process.env,
      args.legacyPlugin,
      (m) => term.debug(m),
      args.sessionClient ?? plan.sessionClient ?? 'auto',
    ),
  );
  pluginReady.catch(() => {});
  const [{ realDeps }, { runTunnels }] = await Promise.all([import('../tunnel/deps.js'), import('../tunnel/run.js')]);
  const outcome = await runTunnels(
    {
      plan,
      startTimeoutMs: args.timeout * 1000,
      env: process.env,
      signal: signals.stop.signal,
      onEvent: (e) => render(e, term, args.command !== undefined),
      whileOpen: args.command ? (tunnels) => runCommand(args.command!, tunnels, term, signals) : undefined,
      reconnect: {
        mode: args.reconnect ?? plan.reconnect ?? defaultReconnect(args, term),
        maxAttempts: args.maxReconnects,
      },
    },
    realDeps(plan, pluginReady, {
      mfaCode: (serial) => askMfaCode(serial, term),
      debug: (m) => term.debug(m),
      warn: (m) => term.warn(m),
    }),
  );
  await term.settle();
  if (outcome.kind === 'done') return outcome.result;
  if (outcome.kind === 'ended') {
    term.info('All tunnels have ended.');
    return EXIT.sessionEnded;
  }
  term.info('Closed.');
  term.event({ event: 'closed', reason: outcome.reason });
  return EXIT_FOR_STOP[outcome.reason];
}

/**
 * An interactive hold reconnects always (what people ask for most); a script, a `--` command or a
 * run without a terminal reconnects on failures only, and never waits forever (attempts are bounded).
 */
function defaultReconnect(args: TunnelArgs, term: Terminal): ReconnectMode {
  const interactive =
    args.command === undefined && term.mode === 'human' && Boolean(process.stdin.isTTY && process.stderr.isTTY);
  return interactive ? 'always' : 'on-failure';
}

/** Environment variables naming the tunnels, for a `--` command. Pure. */
export function commandEnvironment(tunnels: OpenTunnel[]): Record<string, string> {
  const env: Record<string, string> = {};
  const host = (t: OpenTunnel) => t.address ?? '127.0.0.1';
  if (tunnels[0]) {
    env.DBTUNNEL_HOST = host(tunnels[0]);
    env.DBTUNNEL_PORT = String(tunnels[0].localPort);
  }
  for (const t of tunnels) {
    const name = variableStem(t.db);
    env[`DBTUNNEL_${name}_HOST`] = host(t);
    env[`DBTUNNEL_${name}_PORT`] = String(t.localPort);
  }
  return env;
}

/** Run the `--` command with the terminal to itself; its exit code is ours. */
async function runCommand(command: string[], tunnels: OpenTunnel[], term: Terminal, signals: Signals): Promise<number> {
  const [file, ...rest] = command;
  const { execa } = await import('execa');
  // The command inherits dbtunnel's environment (which never holds the session token) plus the
  // tunnels' addresses, and stays in the terminal's process group so that it gets Ctrl-C.
  const child = execa(file!, rest, {
    stdio: 'inherit',
    env: commandEnvironment(tunnels),
    reject: false, // its exit code is ours, whatever it is
    // Signals reach it through Signals (SIGTERM, SIGHUP) or the terminal (Ctrl-C); dbtunnel waits
    // for it to exit before closing the tunnels, so execa's own kill on exit is not wanted.
    cleanup: false,
    forceKillAfterDelay: false,
  });
  signals.commandStarted(child);
  const run = await child;
  signals.commandEnded();
  if (run.exitCode === undefined && run.signal === undefined) {
    const code = (run as { code?: string }).code;
    throw new TunnelError(
      'usage',
      `Could not run ${file}: ${code === 'ENOENT' ? 'command not found' : (code ?? run.shortMessage)}.`,
      {
        hint: 'Check the command after `--` (it runs without a shell: use `-- sh -c "…"` for pipes and variables).',
      },
    );
  }
  term.debug(`command exited: ${run.signal ?? run.exitCode}`);
  // Killed by a signal: the shell's 128+N.
  return run.exitCode ?? 128 + (run.signal ? (constants.signals[run.signal] ?? 0) : 0);
}

function render(e: TunnelEvent, term: Terminal, commandMode: boolean): void {
  if (e.type === 'debug') {
    term.debug(e.message);
    return;
  }
  if (e.type === 'bastion') term.debug(`bastion: ${e.bastion.why}`);
  if (term.mode === 'json') {
    // One JSON shape per event (tunnel/events.ts), as the background supervisor writes them too.
    const record = toRecord(e);
    if (record) term.event(record);
    else if (e.type === 'destination-failed') term.warn(destinationFailedText(e.tunnel, e.diagnosing));
    return;
  }
  switch (e.type) {
    case 'progress':
      term.progress(e.message);
      return;
    case 'warning':
      term.warn(e.message);
      return;
    case 'bastion': {
      const about = [e.bastion.tags.Name, e.region, e.profile && `profile ${e.profile}`].filter(Boolean).join(', ');
      term.success(`bastion ${e.bastion.instanceId} (${about})`);
      if (!/^the only|instanceId|--instance/.test(e.bastion.why)) term.info(`  ${term.paint('dim', e.bastion.why)}`);
      return;
    }
    case 'ready': {
      const t = e.tunnel;
      const host = t.address ?? '127.0.0.1';
      const hint = clientHint(t.engine, t.port, host, t.localPort);
      const how = hint ? `   (${hint.command}, ${hint.url})` : '';
      const close = commandMode ? '' : `   ${term.paint('dim', 'Ctrl-C to close')}`;
      void term
        .settle()
        .then(() =>
          term.success(`${t.db} → ${term.paint('bold', formatAddress(host, t.localPort))}${how}${close}`, 'stdout'),
        );
      return;
    }
    case 'all-ready':
      if (e.tunnels.length > 1 && !commandMode) {
        const list = e.tunnels
          .map((t) => `${t.db} → ${formatAddress(t.address ?? '127.0.0.1', t.localPort)}`)
          .join(', ');
        void term.settle().then(() => term.info(`${e.tunnels.length} tunnels open: ${list}. Ctrl-C closes all.`));
      }
      return;
    case 'destination-failed':
      term.warn(destinationFailedText(e.tunnel, e.diagnosing));
      return;
    case 'path': {
      const text = pathText(e.report, e.tunnel.db, (s, t) => term.paint(s, t));
      term.warn(text.summary);
      for (const h of text.hops) term.info(`    ${h}`);
      if (text.fix) term.info(`  ${term.paint('cyan', '→')} ${text.fix}`);
      for (const l of text.limits) term.info(`  ${term.paint('dim', `Not checked: ${l}`)}`);
      return;
    }
    case 'path-unknown':
      term.warn(
        `Could not look at the path to ${e.tunnel.db}: ${e.error.message} ` +
          "Check that the database's security group allows the bastion, the host and port in the config, " +
          'and that the database is up.',
      );
      return;
    case 'failed':
      term.warn(
        `${e.spec.db} did not open: ${e.error.message}${e.error.hint ? ` (${e.error.hint.split('\n')[0]})` : ''}`,
      );
      return;
    case 'ended':
      term.warn(`The session for ${e.tunnel.db} ended: ${e.text}`);
      return;
    case 'reconnecting': {
      const at = formatAddress(e.tunnel.address ?? '127.0.0.1', e.tunnel.localPort);
      term.info(`  reconnecting ${e.tunnel.db} on ${at} in ${e.delayMs / 1000} s (attempt ${e.attempt})`);
      return;
    }
    case 'closing':
      term.progress('Closing');
      return;
  }
}

let oldNodeWarned = false;
/** Node 20 is past its end of life: one line of ours instead of the SDK's multi-line warning. */
function warnAboutOldNode(term: Terminal): void {
  const major = Number(process.versions.node.split('.')[0]);
  if (major >= 22 || oldNodeWarned || term.mode !== 'human') return;
  oldNodeWarned = true;
  term.warn(
    `Node.js ${process.versions.node} is past its end of life; the AWS ` +
      `SDK needs Node.js 22 or newer from January 2027. Upgrade Node.js.`,
  );
}
