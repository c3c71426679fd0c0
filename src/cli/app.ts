// The command line (yargs), loaded by main.ts for everything but `--version`. Kept light: --help,
// list, alias and completion never load the AWS SDK (each command imports what it needs when it
// runs). The commands themselves are in ./commands/, one file each; this file hands them to yargs
// with what they share: the global options, the checks every command gets, the words of yargs' own
// errors, completion, and rendering a failure once.
import yargs, { type Argv, type Options } from 'yargs';
import { hideBin } from 'yargs/helpers';
import pkg from '../../package.json' with { type: 'json' };
import { EXIT, TunnelError } from '../errors.js';
import { registerSecretsOf } from '../secrets.js';
import { COMMANDS, commandOf, declaredAnywhere } from './commands/index.js';
import { type AnyCommand, type Context, declare, GLOBAL_OPTIONS, withValuesRequired } from './commands/spec.js';
import { Signals } from './signals.js';
import { type OutputMode, Terminal } from './terminal.js';
import {
  choiceProblem,
  declared,
  HELP_HINT,
  numberProblem,
  optionWithoutValue,
  positionalWords,
  unknownOption,
  valueProblem,
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
// yargs picks the completion script's shell from $SHELL when it starts: `completion --shell zsh`
// must be known before.
const shellAt = argv.indexOf('--shell');
if (argv[0] === 'completion' && shellAt !== -1 && ['bash', 'zsh'].includes(argv[shellAt + 1] ?? '')) {
  process.env.SHELL = `/bin/${argv[shellAt + 1]}`;
  delete process.env.ZSH_NAME;
}

/**
 * yargs' own messages, where it reports a problem itself, in dbtunnel's words. Every command that
 * demands a word demands the environment; an option that takes a value and has none is caught by
 * its `requiresArg`; a word no command takes is an argument (options are checked before, by name).
 */
const WHICH_ENVIRONMENT = 'Which environment?';
const YARGS_WORDS = {
  'Not enough non-option arguments: got %s, need at least %s': { one: WHICH_ENVIRONMENT, other: WHICH_ENVIRONMENT },
  'Not enough arguments following: %s': '--%s needs a value.',
  'Unknown argument: %s': { one: 'Unknown argument: %s.', other: 'Unknown arguments: %s.' },
};

/** The checks every command gets, from its own declarations; then its own (yargs' .check()). */
function sharedChecks(command: AnyCommand, parsed: Record<string, unknown>): void {
  const d = declared({ ...GLOBAL_OPTIONS, ...command.options }, command.positionalOptions);
  const unknown = unknownOption(argv, d);
  if (unknown) throw new TunnelError('usage', unknown.message, { hint: unknown.hint });
  const missing = optionWithoutValue(argv, d.valued);
  if (missing) throw new TunnelError('usage', `${missing} needs a value.`, { hint: HELP_HINT });
  const problem =
    valueProblem(parsed, d) ??
    choiceProblem(parsed, d) ??
    numberProblem(parsed as { timeout?: unknown; maxReconnects?: unknown }, argv);
  if (problem) throw new TunnelError('usage', problem, { hint: HELP_HINT });
}

/** Options every command takes, given a value when they take one. */
function globally(options: Record<string, Options>): Record<string, Options> {
  return Object.fromEntries(Object.entries(withValuesRequired(options)).map(([k, o]) => [k, { ...o, global: true }]));
}

/** A command on yargs: its declarations, its own check, its handler (not while completing). */
function register(y: Argv, command: AnyCommand, usage: string, ctx: Context, done: (code: number) => void): Argv {
  return y.command(
    usage,
    command.describe,
    (c) =>
      declare(c, command).check((a) => {
        const problem = command.check?.(a);
        if (problem === undefined) return true;
        throw problem instanceof TunnelError ? problem : new TunnelError('usage', problem, { hint: HELP_HINT });
      }),
    async (a) => {
      if (!completing) done(await command.run(a, ctx));
    },
  );
}

async function main(): Promise<number> {
  let exitCode: number = EXIT.ok;
  const done = (code: number) => {
    exitCode = code;
  };
  const cli = yargs(argv)
    .scriptName('dbtunnel')
    .parserConfiguration({ 'populate--': true })
    // y18n takes a plural as {one, other}; yargs' type declarations know only strings.
    .updateStrings(YARGS_WORDS as unknown as Record<string, string>)
    .usage(
      '$0 <env> [db…] [-- command…]\n\nOpen local ports to private ' +
        'databases through AWS Session Manager and a tagged bastion.',
    );
  const ctx: Context = { term, signals, typed: argv, showCompletionScript: () => cli.showCompletionScript() };
  // Commands with subcommands (`policy check`) are one yargs command whose builder declares them;
  // the command named by the first word alone is its default.
  const groups = new Map<string, AnyCommand[]>();
  for (const c of COMMANDS) groups.set(c.path[0] ?? '$0', [...(groups.get(c.path[0] ?? '$0') ?? []), c]);
  for (const [word, group] of groups) {
    const [main, ...subcommands] = [...group].sort((a, b) => a.path.length - b.path.length);
    if (subcommands.length === 0) {
      register(cli, main!, [word, main!.positionals].join(' ').trim(), ctx, done);
      continue;
    }
    cli.command(word, main!.describe, (y) => {
      for (const sub of subcommands) register(y, sub, [...sub.path.slice(1), sub.positionals].join(' '), ctx, done);
      return register(y, main!, `$0 ${main!.positionals}`, ctx, done);
    });
  }
  await cli
    // The completion scripts call `dbtunnel --get-yargs-completions <words>`, the words being the
    // command line as typed, `dbtunnel` first (bash's COMP_WORDS, zsh's words; fish's script does
    // the same). What is offered comes from the commands' declarations and the config (completion.ts).
    .completion(
      '__completion-script',
      false,
      (_current: string, _parsed: unknown, _filter: unknown, done: (names: string[]) => void) => {
        void (async () => {
          const words = argv.slice(argv.indexOf('--get-yargs-completions') + 2);
          const [{ completions }, { configForCompletion }] = await Promise.all([
            import('./completion.js'),
            import('./shell-commands.js'),
          ]);
          done(completions(words, COMMANDS, await configForCompletion(words)));
        })();
      },
    )
    .options(globally(GLOBAL_OPTIONS))
    .version(pkg.version)
    .alias('h', 'help')
    .alias('v', 'version')
    // Completion asks with words that are not a whole command line yet: never an error there.
    .strict(!completing)
    .wrap(Math.min(100, process.stdout.columns || 100))
    .exitProcess(false)
    // Before yargs' own validation, so that an unknown option is named as typed, with the nearest.
    .middleware((a) => {
      if (completing) return;
      sharedChecks(commandOf(a._.map(String)), a);
    }, true)
    .fail((message, error) => {
      // A line being completed is not a whole command yet (`policy check` lacks its --policy): no error.
      if (completing) return;
      if (error instanceof TunnelError) throw error;
      const said = message ?? error?.message ?? 'The command line could not be read.';
      // The command is named by the first words that are neither options nor their values.
      const command = commandOf(positionalWords(ours, declaredAnywhere(COMMANDS).valued));
      const hint =
        said === WHICH_ENVIRONMENT
          ? `Run: dbtunnel ${[...command.path, '<env>'].join(' ')} [db…]   (dbtunnel list shows them)`
          : HELP_HINT;
      throw new TunnelError('usage', said, { hint });
    })
    .parseAsync();
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
