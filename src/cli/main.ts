// The entry point. Kept light: --version and --help never load the AWS SDK (it is imported only on
// the path that opens a tunnel).
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import pkg from '../../package.json' with { type: 'json' };
import { EXIT, TunnelError } from '../errors.js';
import { Terminal } from './terminal.js';

// Node 20 is past its end of life: the SDK's multi-line warning is replaced by one line of ours
// (printed by the commands that use AWS).
if (Number(process.versions.node.split('.')[0]) < 22) process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const argv = hideBin(process.argv);
const debug = argv.includes('--debug');
const term = new Terminal({ debug });

async function main(): Promise<number> {
  let exitCode: number = EXIT.ok;
  const stop = new AbortController();
  const cli = yargs(argv)
    .scriptName('dbtunnel')
    .usage('$0 <env> [db…]\n\nOpen local ports to private databases through AWS Session Manager and a tagged bastion.')
    .command(
      '$0 [env] [dbs..]',
      'Open a tunnel to each database of an environment and hold them until Ctrl-C',
      (y) =>
        y
          .positional('env', { type: 'string', describe: 'Environment from the config (e.g. stg)' })
          .positional('dbs', { type: 'string', array: true, describe: 'Database(s) of that environment (e.g. mydb)' })
          .option('profile', { type: 'string', describe: 'AWS profile (overrides the config)' })
          .option('region', { type: 'string', describe: 'AWS region (overrides the config)' })
          .option('instance', { type: 'string', describe: 'Use this bastion instance id instead of looking it up' })
          .option('timeout', { type: 'number', default: 30, describe: 'Seconds to wait for each tunnel to open' })
          .option('legacy-plugin', {
            type: 'boolean',
            default: false,
            describe: 'Allow session-manager-plugin ≤ 1.2.497.0 (the session token goes on its command line)',
          })
          .example('$0 stg mydb', 'Open mydb of environment stg')
          .example('$0 stg mydb --profile stg-admin', 'Same, with another AWS profile'),
      async (a) => {
        if (!a.env) throw new TunnelError('usage', 'Which environment?', { hint: 'Run: dbtunnel <env> <db>   (dbtunnel --help for more)' });
        if (!(Number.isFinite(a.timeout) && a.timeout > 0)) {
          throw new TunnelError('usage', `--timeout must be a number of seconds above 0 (got ${String(a.timeout)}).`);
        }
        if (a.instance !== undefined && !/^(i|mi)-[0-9a-f]{8,17}$/.test(a.instance)) {
          throw new TunnelError('usage', `--instance must be an instance id such as i-0abc1234def567890 (got "${a.instance}").`);
        }
        installSignalHandlers(stop);
        const { tunnelCommand } = await import('./tunnel-command.js');
        exitCode = await tunnelCommand(
          {
            env: a.env,
            dbs: (a.dbs ?? []).map(String),
            config: a.config as string | undefined,
            profile: a.profile,
            region: a.region,
            instance: a.instance,
            timeout: a.timeout,
            legacyPlugin: a.legacyPlugin,
          },
          term,
          stop,
        );
      },
    )
    .command('policy', 'Print the least-privilege IAM policy for an environment (policy check: test policy files offline)', (y) =>
      y
        .command(
          'check <env> [dbs..]',
          'Evaluate IAM policy files against the requests a tunnel makes; a verdict and a fix for each',
          (c) =>
            c
              .positional('env', { type: 'string', demandOption: true })
              .positional('dbs', { type: 'string', array: true })
              .option('policy', { type: 'string', array: true, demandOption: 'Pass at least one identity policy: --policy FILE', describe: 'Identity policy JSON file(s) of the user or role' })
              .option('scp', { type: 'string', array: true, default: [] as string[], describe: 'Service control policy JSON file(s), taken as one level of the organization' })
              .option('boundary', { type: 'string', describe: 'Permissions boundary JSON file' })
              .option('principal', { type: 'string', describe: 'Who makes the requests (an IAM user or assumed-role ARN), for ${aws:username} and friends' })
              .option('region', { type: 'string', describe: 'Region (overrides the config)' })
              .option('json', { type: 'boolean', default: false, describe: 'Print the verdicts as JSON' })
              .example('$0 policy check stg mydb --policy dev-policy.json --scp org-guardrails.json', ''),
          async (a) => {
            const { policyCheckCommand } = await import('./policy-command.js');
            exitCode = await policyCheckCommand(
              {
                env: a.env,
                dbs: (a.dbs ?? []).map(String),
                config: a.config as string | undefined,
                region: a.region,
                json: a.json,
                policy: a.policy.map(String),
                scp: a.scp.map(String),
                boundary: a.boundary,
                principal: a.principal,
              },
              term,
            );
          },
        )
        .command(
          '$0 <env> [dbs..]',
          'Print the least-privilege identity policy for the tunnels of <env>',
          (c) =>
            c
              .positional('env', { type: 'string', demandOption: true })
              .positional('dbs', { type: 'string', array: true })
              .option('region', { type: 'string', describe: 'Region (overrides the config)' })
              .option('json', { type: 'boolean', default: false, describe: 'Print only the policy document' }),
          async (a) => {
            const { policyCommand } = await import('./policy-command.js');
            exitCode = await policyCommand(
              { env: a.env, dbs: (a.dbs ?? []).map(String), config: a.config as string | undefined, region: a.region, json: a.json },
              term,
            );
          },
        ),
    )
    .command(
      'doctor <env> [dbs..]',
      'Check everything a tunnel needs, without opening one',
      (y) =>
        y
          .positional('env', { type: 'string', demandOption: true })
          .positional('dbs', { type: 'string', array: true })
          .option('profile', { type: 'string', describe: 'AWS profile (overrides the config)' })
          .option('region', { type: 'string', describe: 'AWS region (overrides the config)' })
          .option('instance', { type: 'string', describe: 'Check this bastion instance id instead of looking it up' }),
      async (a) => {
        const { doctorCommand } = await import('./doctor-command.js');
        exitCode = await doctorCommand(
          { env: a.env, dbs: (a.dbs ?? []).map(String), config: a.config as string | undefined, profile: a.profile, region: a.region, instance: a.instance },
          term,
        );
      },
    )
    .option('config', { type: 'string', global: true, describe: 'Config file (default: dbtunnel.yaml here or above, then ~/.config/dbtunnel/config.yaml)' })
    .option('debug', { type: 'boolean', global: true, default: false, describe: 'Print what dbtunnel does, and stack traces' })
    .version(pkg.version)
    .alias('h', 'help')
    .alias('v', 'version')
    .strict()
    .wrap(Math.min(100, process.stdout.columns || 100))
    .exitProcess(false)
    .fail((msg, err) => {
      throw err ?? new TunnelError('usage', msg, { hint: 'Run dbtunnel --help for the commands and options.' });
    });
  await cli.parseAsync();
  return exitCode;
}

function installSignalHandlers(stop: AbortController): void {
  const onSignal = (sig: 'SIGINT' | 'SIGTERM' | 'SIGHUP') => {
    if (!stop.signal.aborted) stop.abort(sig);
    // Later signals while closing: the close is bounded (SIGKILL after a grace period), so wait.
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => onSignal(sig));
  // A bug must not leave a plugin or a session behind: abort, let the run close everything.
  const crash = (e: unknown) => {
    term.error(e);
    if (!stop.signal.aborted) stop.abort('crash');
    process.exitCode = EXIT.internal;
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.exitCode = term.error(e);
  },
);
