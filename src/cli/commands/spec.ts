// What a command is: the words that name it, its positionals and options (declared once, as yargs
// reads them), its own checks, and its handler. Each command is a file of its own in this folder
// (the shape of aws-vault's cli/exec.go); app.ts hands them all to yargs. Help, validation and
// completion all read the same declarations.
import type { Argv, InferredOptionTypes, Options, PositionalOptions } from 'yargs';
import type { TunnelError } from '../../errors.js';
import type { Signals } from '../signals.js';
import type { Terminal } from '../terminal.js';

/** What every handler is given besides its arguments. */
export interface Context {
  term: Terminal;
  signals: Signals;
  /** The command line as typed, after `dbtunnel`. */
  typed: readonly string[];
  /** yargs' completion script for bash or zsh (the `completion` command prints it). */
  showCompletionScript(): void;
}

/** Options every command takes (app.ts declares them on yargs as global). */
export const GLOBAL_OPTIONS = {
  config: {
    type: 'string',
    describe: 'Config file (default: dbtunnel.yaml here or above, then ~/.config/dbtunnel/config.yaml)',
  },
  debug: { type: 'boolean', default: false, describe: 'Print what dbtunnel does, and stack traces' },
} as const satisfies Record<string, Options>;

type Camel<S extends string> = S extends `${infer H}-${infer T}` ? `${H}${Capitalize<Camel<T>>}` : S;
type CamelKeys<T> = { [K in keyof T as K extends string ? Camel<K> : K]: T[K] };

/** The arguments a handler gets: its options and positionals as yargs parses them (camelCase too). */
export type ArgsOf<O extends Record<string, Options>, P extends Record<string, PositionalOptions>> = CamelKeys<
  InferredOptionTypes<O & P & typeof GLOBAL_OPTIONS>
> & {
  /** The words after `--`, when yargs keeps them (`populate--`). */
  '--'?: unknown[];
};

export interface CommandSpec<
  O extends Record<string, Options> = Record<string, Options>,
  P extends Record<string, PositionalOptions> = Record<string, PositionalOptions>,
> {
  /** The words that name it: [] for the tunnel (the default command), ['policy', 'check'] for a subcommand. */
  path: readonly string[];
  /** Its positionals as yargs spells them after the path, e.g. '<env> [dbs..]'. */
  positionals: string;
  describe: string;
  positionalOptions: P;
  options: O;
  examples?: readonly (readonly [string, string])[];
  /**
   * What is wrong with the arguments as parsed, in words (yargs' .check()); checked before anything
   * runs, and after the checks every command shares (unknown options, values, choices).
   */
  check?(args: ArgsOf<O, P>): string | TunnelError | undefined;
  run(args: ArgsOf<O, P>, ctx: Context): Promise<number>;
}

/** A command spec with its types kept (its handler gets exactly its own arguments). */
export function defineCommand<
  const O extends Record<string, Options>,
  const P extends Record<string, PositionalOptions>,
>(spec: CommandSpec<O, P>): CommandSpec<O, P> {
  return spec;
}

// biome-ignore lint/suspicious/noExplicitAny: a list of commands of different argument types
export type AnyCommand = CommandSpec<any, any>;

/** Every option that takes a value requires one: `--profile` alone is an error, not an empty profile. */
export function withValuesRequired(options: Record<string, Options>): Record<string, Options> {
  return Object.fromEntries(
    Object.entries(options).map(([name, o]) => [
      name,
      o.type === 'boolean' || o.count ? o : { ...o, requiresArg: true },
    ]),
  );
}

/** Declare a command's positionals, options and examples on its yargs instance. */
export function declare(y: Argv, spec: AnyCommand): Argv {
  let out = y;
  for (const [name, p] of Object.entries(spec.positionalOptions)) out = out.positional(name, p as PositionalOptions);
  out = out.options(withValuesRequired(spec.options));
  for (const [example, what] of spec.examples ?? []) out = out.example(example, what);
  return out;
}
