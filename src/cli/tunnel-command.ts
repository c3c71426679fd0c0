// `dbtunnel <env> [db…]`: the CLI edge of one run. Loads the config, wires the real AWS, plugin
// and port edges into src/tunnel/run.ts, renders its events, maps the outcome to an exit code.
import { createInterface } from 'node:readline';
import { EXIT, TunnelError } from '../errors.js';
import { judgePluginVersion } from '../plugin/version.js';
import { formatAddress } from '../tunnel/port.js';
import type { StopReason, TunnelEvent } from '../tunnel/run.js';
import { clientCommand } from './client-hint.js';
import { loadPlan, type TargetArgs } from './plan.js';
import type { Terminal } from './terminal.js';

export interface TunnelArgs extends TargetArgs {
  timeout: number;
  legacyPlugin: boolean;
}

const EXIT_FOR_STOP: Record<StopReason, number> = {
  // Ctrl-C is how a person closes the tunnel they opened: a success. Signals from elsewhere keep
  // the shell's 128+N convention so scripts can tell them apart.
  SIGINT: EXIT.ok,
  SIGTERM: EXIT.sigterm,
  SIGHUP: EXIT.sighup,
  crash: EXIT.internal,
};

export async function tunnelCommand(args: TunnelArgs, term: Terminal, stop: AbortController): Promise<number> {
  const { plan } = await loadPlan(
    args.config,
    { env: args.env, dbs: args.dbs, profile: args.profile, region: args.region, instance: args.instance },
    term,
  );

  warnAboutOldNode(term);
  // The AWS SDK and the process edges load only now, once the config has been found valid.
  const [{ findBastion }, { createAwsContext }, { startSession, terminateSession }, { findPlugin, pluginVersion }, { spawnPlugin }, { runTunnels }] =
    await Promise.all([
      import('../aws/bastion.js'),
      import('../aws/context.js'),
      import('../aws/session.js'),
      import('../plugin/locate.js'),
      import('../plugin/process.js'),
      import('../tunnel/run.js'),
    ]);
  const outcome = await runTunnels(
    {
      plan,
      startTimeoutMs: args.timeout * 1000,
      env: process.env,
      signal: stop.signal,
      onEvent: (e) => render(e, term),
    },
    {
      preparePlugin: async () => {
        const file = await findPlugin(process.env);
        const version = await pluginVersion(file);
        term.debug(`plugin: ${file} ${version}`);
        return { file, verdict: judgePluginVersion(version, args.legacyPlugin) };
      },
      connectAws: () =>
        createAwsContext({
          profile: plan.profile,
          region: plan.region,
          mfaCode: (serial) => askMfaCode(serial, term),
          debug: (m) => term.debug(m),
          warn: (m) => term.warn(m),
        }),
      findBastion: (aws) => findBastion(aws, plan.bastion, (m) => term.warn(m)),
      startSession,
      terminateSession,
      spawnPlugin,
    },
  );
  await term.settle();
  if (outcome.kind === 'ended') {
    term.info('All tunnels have ended.');
    return EXIT.sessionEnded;
  }
  term.info('Closed.');
  return EXIT_FOR_STOP[outcome.reason];
}

function render(e: TunnelEvent, term: Terminal): void {
  switch (e.type) {
    case 'progress':
      term.progress(e.message);
      return;
    case 'debug':
      term.debug(e.message);
      return;
    case 'warning':
      term.warn(e.message);
      return;
    case 'bastion': {
      const name = e.bastion.tags.Name;
      term.success(
        `bastion ${e.bastion.instanceId} (${[name, e.region, e.profile && `profile ${e.profile}`].filter(Boolean).join(', ')})`,
      );
      term.debug(`bastion: ${e.bastion.why}`);
      if (!/^the only|instanceId|--instance/.test(e.bastion.why)) term.info(`  ${term.paint('dim', e.bastion.why)}`);
      return;
    }
    case 'ready': {
      const t = e.tunnel;
      const host = t.address ?? '127.0.0.1';
      const client = clientCommand(t.port, host, t.localPort);
      void term.settle().then(() =>
        term.success(
          `${t.db} → ${term.paint('bold', formatAddress(host, t.localPort))}${client ? `   (${client})` : ''}   ${term.paint('dim', 'Ctrl-C to close')}`,
          'stdout',
        ),
      );
      return;
    }
    case 'destination-failed':
      term.warn(
        `The bastion could not connect to ${e.tunnel.host}:${e.tunnel.port} for ${e.tunnel.db}. ` +
          'Check the database\'s security group allows the bastion, the host and port in the config, and that the database is up.',
      );
      return;
    case 'failed':
      term.warn(`${e.spec.db} did not open: ${e.error.message}${e.error.hint ? ` (${e.error.hint.split('\n')[0]})` : ''}`);
      return;
    case 'ended':
      term.warn(`The session for ${e.tunnel.db} ended: ${e.text}`);
      return;
    case 'closing':
      term.progress('Closing');
      return;
  }
}

let oldNodeWarned = false;
/** Node 20 is past its end of life: one line of ours instead of the SDK's multi-line warning. */
function warnAboutOldNode(term: Terminal): void {
  const major = Number(process.versions.node.split('.')[0]);
  if (major >= 22 || oldNodeWarned) return;
  oldNodeWarned = true;
  term.warn(`Node.js ${process.versions.node} is past its end of life; the AWS SDK needs Node.js 22 or newer from January 2027. Upgrade Node.js.`);
}

/** MFA codes: asked on stderr, read from stdin (a terminal, or a pipe in scripts and tests). */
async function askMfaCode(serial: string, term: Terminal): Promise<string> {
  await term.settle();
  if (process.stdin.isTTY === undefined && process.stdin.readableEnded) {
    throw new TunnelError('credentials', `This profile needs an MFA code (${serial}), and there is no terminal to ask on.`, {
      hint: 'Run dbtunnel in a terminal, or pipe the code to its standard input.',
    });
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: Boolean(process.stdin.isTTY) });
  try {
    const code = await new Promise<string>((resolve, reject) => {
      rl.once('close', () => reject(new TunnelError('credentials', `No MFA code was entered for ${serial}.`, {
        hint: 'Run dbtunnel in a terminal and type the 6-digit code from your MFA device.',
      })));
      rl.question(`MFA code for ${serial}: `, (answer) => resolve(answer.trim()));
    });
    if (!/^\d{6}$/.test(code)) {
      throw new TunnelError('credentials', 'An MFA code is 6 digits.', { hint: 'Run again and type the code your MFA device shows.' });
    }
    return code;
  } finally {
    rl.close();
  }
}
