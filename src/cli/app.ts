// The command line (yargs), loaded by main.ts for everything but `--version`. Kept light: --help,
// list, alias and completion never load the AWS SDK (each command imports what it needs when it runs).
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import pkg from '../../package.json' with { type: 'json' };
import { EXIT, TunnelError } from '../errors.js';
import { INSTANCE_ID_PATTERN } from '../model.js';
import { registerSecretsOf } from '../secrets.js';
import { Signals } from './signals.js';
import { Terminal, type OutputMode } from './terminal.js';
import {
  HELP_HINT,
  numberProblem,
  optionWithoutValue,
  usageError,
  valuedOptions,
  valueProblem,
  type YargsOptions,
} from './usage.js';

// Node 20 is past its end of life: the SDK's multi-line warning is replaced by one line of ours
// (printed by the commands that use AWS).
if (Number(process.versions.node.split('.')[0]) < 22)
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// Secrets in dbtunnel's own environment (exported keys, a proxy URL's password) never leave it in
// anything dbtunnel prints.
registerSecretsOf(process.env);

const argv = hideBin(process.argv);
// How to print is needed before yargs has parsed anything (its own errors are rendered too).
const dashes = argv.indexOf('--');
const ours = dashes === -1 ? argv : argv.slice(0, dashes);
const mode: OutputMode = ours.includes('--json')
  ? 'json'
  : ours.includes('--quiet') || ours.includes('-q')
    ? 'quiet'
    : 'human';
const term = new Terminal({ debug: ours.includes('--debug'), mode, stdoutTaken: dashes !== -1 });
const signals = new Signals();
const completing = argv.includes('--get-yargs-completions');
/** yargs answers `--get-yargs-completions` itself, yet still calls the command's handler: run nothing then. */
const unlessCompleting =
  <A>(handler: (a: A) => Promise<void>) =>
  async (a: A): Promise<void> => {
    if (!completing) await handler(a);
  };
// yargs picks the completion script's shell from $SHELL when it starts: `completion --shell zsh`
// must be known before.
const shellAt = argv.indexOf('--shell');
if (argv[0] === 'completion' && shellAt !== -1 && ['bash', 'zsh'].includes(argv[shellAt + 1] ?? '')) {
  process.env.SHELL = `/bin/${argv[shellAt + 1]}`;
  delete process.env.ZSH_NAME;
}

const targetOptions = {
  profile: { type: 'string', describe: 'AWS profile (overrides the config)' },
  region: { type: 'string', describe: 'AWS region (overrides the config)' },
  instance: { type: 'string', describe: 'Use this bastion instance id instead of looking it up' },
} as const;

/** The options of a tunnel (`dbtunnel <env> [db…]`, the default command). */
const tunnelOptions = {
  ...targetOptions,
  all: { type: 'boolean', default: false, describe: 'Every database of the environment' },
  timeout: { type: 'number', default: 30, describe: 'Seconds to wait for each tunnel to open' },
  json: { type: 'boolean', default: false, describe: 'One JSON event per line (ready, ended, error…), nothing else' },
  quiet: { alias: 'q', type: 'boolean', default: false, describe: 'Print only errors' },
  yes: {
    alias: 'y',
    type: 'boolean',
    default: false,
    describe: 'Open an environment marked confirm: true without asking',
  },
  'dry-run': { type: 'boolean', default: false, describe: 'Print the equivalent aws CLI commands; start nothing' },
  reconnect: {
    choices: ['always', 'on-failure', 'never'],
    describe: 'When a session ends unasked (default: always on a terminal, else on-failure)',
  },
  'max-reconnects': { type: 'number', default: 10, describe: 'Reconnect attempts per outage' },
  'legacy-plugin': {
    type: 'boolean',
    default: false,
    describe: 'Allow session-manager-plugin ≤ 1.2.497.0 (the session token goes on its command line)',
  },
} as const;

function checkInstance(instance: string | undefined): void {
  if (instance !== undefined && !INSTANCE_ID_PATTERN.test(instance)) {
    throw new TunnelError(
      'usage',
      `--instance must be an instance id such as i-0abc1234def567890 (got "${instance}").`,
    );
  }
}

async function main(): Promise<number> {
  let exitCode: number = EXIT.ok;
  const cli = yargs(argv)
    .scriptName('dbtunnel')
    .parserConfiguration({ 'populate--': true })
    .usage(
      '$0 <env> [db…] [-- command…]\n\nOpen local ports to private ' +
        'databases through AWS Session Manager and a tagged bastion.',
    )
    .command(
      '$0 [env] [dbs..]',
      'Open a tunnel to each database and hold them until Ctrl-C (or run a command through them)',
      (y) =>
        y
          .positional('env', { type: 'string', describe: 'Environment from the config (e.g. stg)' })
          .positional('dbs', { type: 'string', array: true, describe: 'Database(s) of that environment (e.g. mydb)' })
          .options(tunnelOptions)
          .example('$0 stg mydb', 'Open mydb of environment stg, hold it until Ctrl-C')
          .example('$0 stg --all', 'Every database of stg')
          // A shell expands variables before dbtunnel runs: they go inside sh -c '…' to be the tunnel's.
          .example(
            '$0 stg mydb -- ./migrate.sh',
            'Run a command through the tunnel ($DBTUNNEL_HOST, $DBTUNNEL_PORT), then close it',
          )
          .example("$0 stg mydb -- sh -c 'psql -h $DBTUNNEL_HOST -p $DBTUNNEL_PORT'", '')
          .example('$0 stg mydb --json', 'Events for scripts'),
      unlessCompleting(async (a) => {
        if (!a.env) {
          // A first run, with no config yet, needs `dbtunnel init` more than the usage.
          const { environmentNames } = await import('./shell-commands.js');
          const names = await environmentNames(a.config as string | undefined);
          throw new TunnelError('usage', 'Which environment?', {
            details: [`Environments: ${names.join(', ')}`],
            hint: 'Run: dbtunnel <env> <db>   (dbtunnel list shows them; dbtunnel --help for more)',
          });
        }
        checkInstance(a.instance);
        const command = (a['--'] as unknown[] | undefined)?.map(String);
        if (command !== undefined && command.length === 0)
          throw new TunnelError('usage', 'Nothing after `--`.', {
            hint: 'Give the command to run: dbtunnel stg mydb -- psql …',
          });
        signals.install(term);
        const { tunnelCommand } = await import('./tunnel-command.js');
        exitCode = await tunnelCommand(
          {
            env: a.env,
            dbs: (a.dbs ?? []).map(String),
            all: a.all,
            config: a.config as string | undefined,
            profile: a.profile,
            region: a.region,
            instance: a.instance,
            timeout: a.timeout,
            legacyPlugin: a.legacyPlugin,
            yes: a.yes,
            dryRun: a.dryRun,
            command,
            reconnect: a.reconnect,
            maxReconnects: a.maxReconnects,
          },
          term,
          signals,
        );
      }),
    )
    .command(
      'policy',
      'Print the least-privilege IAM policy for an environment (policy check: test policy files offline)',
      (y) =>
        y
          .command(
            'check <env> [dbs..]',
            'Evaluate IAM policy files against the requests a tunnel makes; a verdict and a fix for each',
            (c) =>
              c
                .positional('env', { type: 'string', demandOption: true, describe: 'Environment from the config' })
                .positional('dbs', {
                  type: 'string',
                  array: true,
                  describe: 'Database(s) of that environment (default: all)',
                })
                .option('policy', {
                  type: 'string',
                  array: true,
                  demandOption: 'Pass at least one identity policy: --policy FILE',
                  describe: 'Identity policy JSON file(s) of the user or role',
                })
                .option('scp', {
                  type: 'string',
                  array: true,
                  default: [] as string[],
                  describe: 'Service control policy JSON file(s), taken as one level of the organization',
                })
                .option('boundary', { type: 'string', describe: 'Permissions boundary JSON file' })
                .option('principal', {
                  type: 'string',
                  describe: 'Who makes the requests (an IAM user or assumed-role ARN), for ${aws:username} and friends',
                })
                .option('context', {
                  type: 'string',
                  array: true,
                  default: [] as string[],
                  describe: 'key=value for a key AWS knows only at request time (aws:SourceIp, aws:PrincipalOrgID…)',
                })
                .option('region', { type: 'string', describe: 'Region (overrides the config)' })
                .option('json', { type: 'boolean', default: false, describe: 'Print the verdicts as JSON' })
                .example('$0 policy check stg mydb --policy dev-policy.json --scp org-guardrails.json', ''),
            unlessCompleting(async (a) => {
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
                  context: a.context.map(String),
                },
                term,
              );
            }),
          )
          .command(
            '$0 <env> [dbs..]',
            'Print the least-privilege identity policy for the tunnels of <env>',
            (c) =>
              c
                .positional('env', { type: 'string', demandOption: true, describe: 'Environment from the config' })
                .positional('dbs', {
                  type: 'string',
                  array: true,
                  describe: 'Database(s) of that environment (default: all)',
                })
                .option('region', { type: 'string', describe: 'Region (overrides the config)' })
                .option('json', { type: 'boolean', default: false, describe: 'Print only the policy document' }),
            unlessCompleting(async (a) => {
              const { policyCommand } = await import('./policy-command.js');
              exitCode = await policyCommand(
                {
                  env: a.env,
                  dbs: (a.dbs ?? []).map(String),
                  config: a.config as string | undefined,
                  region: a.region,
                  json: a.json,
                },
                term,
              );
            }),
          ),
    )
    .command(
      'doctor <env> [dbs..]',
      'Check everything a tunnel needs, without opening one',
      (y) =>
        y
          .positional('env', { type: 'string', demandOption: true, describe: 'Environment from the config' })
          .positional('dbs', {
            type: 'string',
            array: true,
            describe: 'Database(s) of that environment (default: all)',
          })
          .options(targetOptions),
      unlessCompleting(async (a) => {
        checkInstance(a.instance);
        const { doctorCommand } = await import('./doctor-command.js');
        exitCode = await doctorCommand(
          {
            env: a.env,
            dbs: (a.dbs ?? []).map(String),
            config: a.config as string | undefined,
            profile: a.profile,
            region: a.region,
            instance: a.instance,
          },
          term,
        );
      }),
    )
    .command(
      'up <env> [dbs..]',
      'Open tunnels; with -d, hand them to the background supervisor and return once they are ready',
      (y) =>
        y
          .positional('env', { type: 'string', demandOption: true, describe: 'Environment from the config' })
          .positional('dbs', { type: 'string', array: true, describe: 'Database(s) of that environment' })
          .options(targetOptions)
          .option('detach', {
            alias: 'd',
            type: 'boolean',
            default: false,
            describe: 'Hold the tunnels in the background',
          })
          .option('all', { type: 'boolean', default: false, describe: 'Every database of the environment' })
          .option('yes', {
            alias: 'y',
            type: 'boolean',
            default: false,
            describe: 'Open an environment marked confirm: true without asking',
          })
          .option('timeout', { type: 'number', default: 30, describe: 'Seconds to wait for each tunnel to open' })
          .option('json', { type: 'boolean', default: false, describe: 'One JSON event per line' })
          .option('reconnect', {
            choices: ['always', 'on-failure', 'never'] as const,
            describe: 'When a session ends unasked (default with -d: always)',
          })
          .option('max-reconnects', { type: 'number', default: 10, describe: 'Reconnect attempts per outage' })
          .example('$0 up -d stg mydb', 'Open mydb in the background; dbtunnel ps lists it, dbtunnel down closes it'),
      unlessCompleting(async (a) => {
        checkInstance(a.instance);
        const target = {
          env: a.env,
          dbs: (a.dbs ?? []).map(String),
          all: a.all,
          config: a.config as string | undefined,
          profile: a.profile,
          region: a.region,
          instance: a.instance,
          yes: a.yes,
          timeout: a.timeout,
          reconnect: a.reconnect,
          maxReconnects: a.maxReconnects,
        };
        if (a.detach) {
          const { upDetached } = await import('./background.js');
          signals.install(term);
          exitCode = await upDetached(target, term, signals.stop.signal);
          return;
        }
        signals.install(term);
        const { tunnelCommand } = await import('./tunnel-command.js');
        exitCode = await tunnelCommand(
          { ...target, legacyPlugin: false, dryRun: false, command: undefined },
          term,
          signals,
        );
      }),
    )
    .command(
      'ps',
      'List the tunnels held in the background (env, db, address, state, age, pid)',
      (y) => y.option('json', { type: 'boolean', default: false, describe: 'As JSON' }),
      unlessCompleting(async (a) => {
        const { psCommand } = await import('./background.js');
        exitCode = await psCommand({ json: a.json }, term);
      }),
    )
    .command(
      'down [env] [db]',
      "Close background tunnels (all, an environment's, or one), properly: plugin stopped, session terminated",
      (y) =>
        y
          .positional('env', { type: 'string', describe: "Only this environment's" })
          .positional('db', { type: 'string', describe: 'Only this database' }),
      unlessCompleting(async (a) => {
        const { downCommand } = await import('./background.js');
        exitCode = await downCommand({ env: a.env, db: a.db }, term);
      }),
    )
    .command(
      'logs <env> [db]',
      'Show what the tunnels held in the background reported (opened, reconnected, errors); -f follows',
      (y) =>
        y
          .positional('env', { type: 'string', demandOption: true, describe: 'Environment' })
          .positional('db', { type: 'string', describe: 'Only this database' })
          .option('follow', { alias: 'f', type: 'boolean', default: false, describe: 'Keep printing as they report' })
          .option('json', { type: 'boolean', default: false, describe: 'One JSON event per line' }),
      unlessCompleting(async (a) => {
        signals.install(term);
        const { logsCommand } = await import('./background.js');
        exitCode = await logsCommand({ env: a.env, db: a.db, follow: a.follow }, term, signals.stop.signal);
      }),
    )
    .command(
      'init',
      'Write a commented starter config (asks on a terminal; flags otherwise); never overwrites without --force',
      (y) =>
        y
          .option('env', { type: 'string', describe: 'Environment name (default stg)' })
          .option('profile', { type: 'string', describe: 'AWS profile' })
          .option('region', { type: 'string', describe: 'AWS region' })
          .option('bastion', { type: 'string', describe: "The bastion's Name tag" })
          .option('db', { type: 'string', describe: 'First database name' })
          .option('host', { type: 'string', describe: 'Its host, as the bastion sees it' })
          .option('port', { type: 'number', describe: 'Its port' })
          .option('local-port', { type: 'number', describe: 'Local port' })
          .option('engine', { type: 'string', describe: 'mysql, postgres, redis, mongodb, mssql or oracle' })
          .option('file', { type: 'string', describe: 'Where to write (default ./dbtunnel.yaml)' })
          .option('personal', {
            type: 'boolean',
            default: false,
            describe: 'Write ~/.config/dbtunnel/config.yaml instead',
          })
          .option('force', { type: 'boolean', default: false, describe: 'Replace an existing file' }),
      unlessCompleting(async (a) => {
        const { initCommand } = await import('./init-command.js');
        exitCode = await initCommand(
          {
            env: a.env,
            profile: a.profile,
            region: a.region,
            bastion: a.bastion,
            db: a.db,
            host: a.host,
            port: a.port,
            localPort: a.localPort,
            engine: a.engine,
            file: a.file,
            personal: a.personal,
            force: a.force,
          },
          term,
        );
      }),
    )
    .command(
      'sessions [env]',
      'List your own active Session Manager sessions (target, age); --terminate ends them',
      (y) =>
        y
          .positional('env', { type: 'string', describe: "Use this environment's profile and region" })
          .option('profile', { type: 'string', describe: 'AWS profile' })
          .option('region', { type: 'string', describe: 'AWS region' })
          .option('terminate', { type: 'boolean', default: false, describe: 'End them (TerminateSession)' })
          .option('json', { type: 'boolean', default: false, describe: 'As JSON' }),
      unlessCompleting(async (a) => {
        const { sessionsCommand } = await import('./sessions-command.js');
        exitCode = await sessionsCommand(
          {
            env: a.env,
            config: a.config as string | undefined,
            profile: a.profile,
            region: a.region,
            terminate: a.terminate,
            json: a.json,
          },
          term,
        );
      }),
    )
    .command(
      'logout',
      'Forget the temporary AWS credentials dbtunnel keeps between runs (assume-role, MFA)',
      (y) => y.option('profile', { type: 'string', describe: "Only this profile's" }),
      unlessCompleting(async (a) => {
        const { clearCachedCredentials } = await import('../aws/credential-cache.js');
        const kept = await clearCachedCredentials(a.profile);
        if (kept === 0)
          term.info(a.profile ? `No credentials of profile ${a.profile} were cached.` : 'No credentials were cached.');
        else
          term.success(
            a.profile
              ? `forgot the cached credentials of profile ${a.profile}`
              : `forgot the cached credentials of ${kept} profile${kept === 1 ? '' : 's'}`,
          );
      }),
    )
    .command(
      'list',
      'List environments, databases and ports',
      (y) => y.option('json', { type: 'boolean', default: false, describe: 'As JSON' }),
      unlessCompleting(async (a) => {
        const { listCommand } = await import('./shell-commands.js');
        exitCode = await listCommand({ config: a.config as string | undefined, json: a.json }, term);
      }),
    )
    .command(
      'alias',
      'Print a shell alias per database: eval "$(dbtunnel alias)" in your shell rc',
      (y) => y.option('shell', { choices: ['bash', 'zsh', 'fish'] as const, describe: 'Default: from $SHELL' }),
      unlessCompleting(async (a) => {
        const { aliasCommand } = await import('./shell-commands.js');
        exitCode = await aliasCommand({ config: a.config as string | undefined, shell: a.shell }, term);
      }),
    )
    .command(
      'completion',
      'Print a completion script: eval "$(dbtunnel completion)" (bash, zsh); fish: --shell fish',
      (y) => y.option('shell', { choices: ['bash', 'zsh', 'fish'] as const, describe: 'Default: from $SHELL' }),
      unlessCompleting(async (a) => {
        const { detectShell, FISH_COMPLETION } = await import('./shell-commands.js');
        const shell = a.shell ?? detectShell(process.env);
        if (shell === 'fish') {
          term.print(FISH_COMPLETION);
          return;
        }
        cli.showCompletionScript(); // for the shell set from --shell above, else $SHELL's
      }),
    )
    // The completion scripts call `dbtunnel --get-yargs-completions <words>`, the words being the
    // command line as typed, `dbtunnel` first (bash's COMP_WORDS, zsh's words; fish's script does
    // the same): commands and options from yargs, environment and database names from the config.
    .completion(
      '__completion-script',
      false,
      (
        current: string,
        parsed: unknown,
        completionFilter: (cb: (err: unknown, defaults?: string[]) => void) => void,
        done: (names: string[]) => void,
      ) => {
        completionFilter(async (_err: unknown, defaults: string[] = []) => {
          const { completionNames } = await import('./shell-commands.js');
          const words = argv.slice(argv.indexOf('--get-yargs-completions') + 2);
          const { names, afterEnvironment, tunnel } = await completionNames(words);
          if (current.startsWith('-')) {
            // Options: a named command's from yargs; a tunnel's (the default command) from its list.
            const flags = tunnel ? Object.keys(tunnelOptions).map((k) => `--${k}`) : [];
            done([...new Set([...defaults, ...flags])].filter((n) => n.startsWith(current)));
            return;
          }
          // Commands only as the first word; then the environment's databases. Options when asked (`-`).
          const commands = afterEnvironment
            ? []
            : defaults.filter((d) => d !== '$0' && !d.startsWith('__completion') && !d.startsWith('-'));
          done([...new Set([...commands, ...names])].filter((n) => n.startsWith(current)));
        });
        void parsed;
      },
    )
    .option('config', {
      type: 'string',
      global: true,
      describe: 'Config file (default: dbtunnel.yaml here or above, then ~/.config/dbtunnel/config.yaml)',
    })
    .option('debug', {
      type: 'boolean',
      global: true,
      default: false,
      describe: 'Print what dbtunnel does, and stack traces',
    })
    .version(pkg.version)
    .alias('h', 'help')
    .alias('v', 'version')
    // Completion asks with words that are not a whole command line yet: never an error there.
    .strict(!completing)
    .wrap(Math.min(100, process.stdout.columns || 100))
    .exitProcess(false)
    // Before yargs' own checks, so that `--reconnect` with no value is said to need one.
    .middleware((a) => {
      if (completing) return;
      const missing = optionWithoutValue(argv, valuedOptions(commandOptions()));
      if (missing) throw new TunnelError('usage', `${missing} needs a value.`, { hint: HELP_HINT });
      const twice = valueProblem(a);
      if (twice) throw new TunnelError('usage', twice, { hint: HELP_HINT });
      const wrong = numberProblem(a as { timeout?: unknown; maxReconnects?: unknown }, argv);
      if (wrong) throw new TunnelError('usage', wrong, { hint: HELP_HINT });
    }, true)
    .fail((msg, err) => {
      // A line being completed is not a whole command yet (`policy check` lacks its --policy): no error.
      if (completing) return;
      if (err) throw err;
      const said = usageError(msg, argv, commandOptions());
      throw new TunnelError('usage', said?.message ?? msg, { hint: said?.hint ?? HELP_HINT });
    });
  /** getOptions() is yargs' own (not in its type declarations): the running (or failed) command's options. */
  const commandOptions = () => (cli as unknown as { getOptions(): YargsOptions }).getOptions();
  await cli.parseAsync();
  return exitCode;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.exitCode = term.error(e);
  },
);
