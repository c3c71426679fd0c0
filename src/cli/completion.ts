// What Tab offers, from the commands' own declarations and the config's names: the command words
// first, then an environment and its databases where the command takes them, the options of the
// command being typed (never a one-letter alias as `--d`), and an option's choices after it. The
// completion scripts (yargs' for bash and zsh, ours for fish) ask with the words typed so far. Pure.
import type { Config } from '../config/schema.js';
import { commandOf, declaredAnywhere } from './commands/index.js';
import { GLOBAL_OPTIONS, type AnyCommand } from './commands/spec.js';
import { declared, positionalWords } from './usage.js';

/**
 * `words`: the command line after `dbtunnel`, the word being completed last (maybe empty).
 * `config`: the config's environments, when one could be read.
 */
export function completions(
  words: readonly string[],
  commands: readonly AnyCommand[],
  config: Config | undefined,
): string[] {
  const current = words.at(-1) ?? '';
  const before = words.slice(0, -1);
  if (before.includes('--')) return []; // the user's own command
  // The command's words, then its positionals: the words that are neither options nor their values.
  const positional = positionalWords(before, declaredAnywhere(commands).valued);
  const command = commandOf(positional, commands);
  const d = declared({ ...GLOBAL_OPTIONS, ...command.options }, command.positionalOptions);
  const matching = (names: Iterable<string>) => [...new Set(names)].filter((n) => n.startsWith(current));

  // After an option that takes a value: its choices, or nothing (the shell offers files).
  const previous = before.at(-1);
  if (previous?.startsWith('--') && !previous.includes('=') && d.valued.has(previous.slice(2))) {
    return matching(d.choices.get(previous.slice(2)) ?? []);
  }
  if (current.startsWith('-')) {
    const long = [...d.long].filter((n) => n.length > 1 && n !== 'version' && !n.startsWith('no-'));
    return matching(long.map((n) => `--${n}`));
  }
  const args = positional.slice(command.path.length);
  const names: string[] = [];
  if (positional.length === 0) {
    names.push(...new Set(commands.flatMap((c) => c.path.slice(0, 1))));
  } else if (command.path.length > 0 && args.length === 0) {
    // A command's own next word (`policy check`), before its positionals.
    names.push(
      ...commands
        .filter((c) => c.path.length > command.path.length && c.path[0] === command.path[0])
        .map((c) => c.path[command.path.length]!),
    );
  }
  const takes = Object.keys(command.positionalOptions);
  const environments = config?.environments ?? {};
  if (takes[0] === 'env' && args.length === 0) names.push(...Object.keys(environments));
  const env = args[0] !== undefined ? environments[args[0]] : undefined;
  if (env && takes.length > 1 && (takes[1] === 'dbs' || args.length === 1)) {
    names.push(...Object.keys(env.databases).filter((db) => !args.slice(1).includes(db)));
  }
  return matching(names);
}
