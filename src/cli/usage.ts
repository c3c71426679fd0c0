// yargs' usage errors in the user's words, and the option values yargs lets through. yargs says
// "Unknown arguments: tiemout", "Invalid values: Argument: reconnect, Given: …", "Not enough
// non-option arguments: got 0, need at least 1"; and it takes `--profile` with no value as an empty
// profile (the config's profile then silently not used), `--timeout` with none as the default, and
// `--timeout soon` as NaN. Every function here is pure: `typed` is the command line as typed.
import { closest } from '../suggest.js';
import { excerpt } from '../text.js';

/** The hint of every usage error. */
export const HELP_HINT = 'Run dbtunnel --help for the commands and options.';

/** The longest wait a timer can hold (2^31 - 1 ms): a longer one fires at once. */
export const MAX_TIMEOUT_SECONDS = 2_147_483;

const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** The words before `--` (what follows is the user's command, not dbtunnel's). */
const ownWords = (typed: readonly string[]) => (typed.includes('--') ? typed.slice(0, typed.indexOf('--')) : typed);

/** The option lists yargs keeps for the running command (its getOptions(), in part). */
export interface YargsOptions {
  key: Record<string, unknown>;
  string?: string[];
  number?: string[];
  array?: string[];
  choices?: Record<string, unknown>;
  alias?: Record<string, string[]>;
}

/** Every name (aliases and kebab-case too) of the options that take a value. */
export function valuedOptions(options: YargsOptions): Set<string> {
  const names = [
    ...(options.string ?? []),
    ...(options.number ?? []),
    ...(options.array ?? []),
    ...Object.keys(options.choices ?? {}),
  ];
  const all = names.flatMap((n) => [n, kebab(n), ...(options.alias?.[n] ?? [])]);
  return new Set(all);
}

/**
 * The first option typed without its value (`--profile` last or before another option,
 * `--profile=`, `--profile ''`), as typed; undefined when every one has a value. A number's value may
 * start with a minus (it is then refused as a number, with what was typed).
 */
export function optionWithoutValue(typed: readonly string[], valued: ReadonlySet<string>): string | undefined {
  const words = ownWords(typed);
  for (const [i, word] of words.entries()) {
    const m = /^--([^=]+)(?:=(.*))?$/s.exec(word);
    if (!m || !valued.has(m[1]!)) continue;
    const value = m[2] ?? words[i + 1];
    if (value === undefined || value === '' || (m[2] === undefined && /^-(?![\d.])/.test(value))) return `--${m[1]}`;
  }
  return undefined;
}

/** What was typed for an option (`--timeout soon`, `--timeout=soon`), if it was. */
export function typedValue(typed: readonly string[], name: string): string | undefined {
  const words = ownWords(typed);
  for (const [i, word] of words.entries()) {
    if (word === `--${name}`) return words[i + 1];
    if (word.startsWith(`--${name}=`)) return word.slice(name.length + 3);
  }
  return undefined;
}

/** What is wrong with the numbers given (--timeout, --max-reconnects), or undefined. */
export function numberProblem(
  args: { timeout?: unknown; maxReconnects?: unknown },
  typed: readonly string[],
): string | undefined {
  const got = (name: string, value: unknown) => {
    const text = typedValue(typed, name);
    return text === undefined ? String(value) : /^-?[\d.]/.test(text) ? text : JSON.stringify(text);
  };
  const { timeout, maxReconnects } = args;
  if (timeout !== undefined) {
    if (!(typeof timeout === 'number' && timeout > 0))
      return `--timeout must be a number of seconds above 0 (got ${got('timeout', timeout)}).`;
    if (timeout > MAX_TIMEOUT_SECONDS) {
      const most = `${MAX_TIMEOUT_SECONDS} seconds, about 24 days`;
      return `--timeout must be at most ${most} (got ${got('timeout', timeout)}).`;
    }
  }
  if (maxReconnects !== undefined && !(Number.isInteger(maxReconnects) && (maxReconnects as number) >= 0)) {
    return `--max-reconnects must be a whole number, 0 or more (got ${got('max-reconnects', maxReconnects)}).`;
  }
  return undefined;
}

/** Options and positionals that take several values; every other one takes one. */
export const MANY_VALUED = new Set(['_', '--', '$0', 'dbs', 'policy', 'scp', 'context']);

/** Options whose value is a file's path (longer values are allowed for them). */
const PATH_OPTIONS = new Set(['config', 'file', 'policy', 'scp', 'boundary']);
export const MAX_PATH_LENGTH = 4096;
export const MAX_NAME_LENGTH = 256;

/**
 * What is wrong with the values as yargs parsed them: a single-valued option given twice (yargs
 * makes a list of them: `--profile a --profile b` would become the profile "a,b", and `--config a
 * --config b` a list where a path belongs), or a value too long to be what it claims (a profile name
 * of 100,000 characters reached the file system as one). Pure.
 */
export function valueProblem(parsed: Record<string, unknown>): string | undefined {
  for (const [key, value] of Object.entries(parsed)) {
    if (key !== kebab(key) && kebab(key) in parsed) continue; // yargs keeps both spellings: check one
    if (Array.isArray(value) && !MANY_VALUED.has(key)) {
      return (
        `--${kebab(key)} was given ${value.length === 2 ? 'twice' : `${value.length} times`} ` +
        `(${value.map((v) => excerpt(String(v), 40)).join(', ')}): give it once.`
      );
    }
    const max = PATH_OPTIONS.has(key) ? MAX_PATH_LENGTH : MAX_NAME_LENGTH;
    for (const v of [value].flat()) {
      if (typeof v === 'string' && v.length > max && key !== '--' && key !== '$0') {
        const what =
          key === 'env'
            ? 'The environment name'
            : key === 'dbs' || key === 'db'
              ? 'A database name'
              : key === '_'
                ? 'An argument'
                : `--${kebab(key)}`;
        return `${what} is ${v.length} characters long: at most ${max} can be meant (${excerpt(v, 40)}).`;
      }
    }
  }
  return undefined;
}

/**
 * A usage error for one of yargs' own messages, or undefined for a message to show as it is.
 * `known` is the running command's options (yargs' getOptions()).
 */
export function usageError(
  message: string,
  typed: readonly string[],
  known: YargsOptions,
): { message: string; hint: string } | undefined {
  return (
    unknownArguments(message, typed, Object.keys(known.key)) ??
    invalidChoices(message) ??
    missingEnvironment(message, typed, known) ??
    missingRequired(message)
  );
}

/** "Unknown arguments: tiemout": options shown as typed (`--tiemout`), once, and a near option for a typo. */
export function unknownArguments(
  message: string,
  typed: readonly string[],
  known: readonly string[],
): { message: string; hint: string } | undefined {
  const list = /^Unknown arguments?: (.+)$/.exec(message)?.[1];
  if (list === undefined) return undefined;
  const names = list.split(', ');
  // yargs lists `--bogus-flag` twice, as bogus-flag and bogusFlag.
  const once = names.filter((n) => n === kebab(n) || !names.includes(kebab(n)));
  const asTyped = once.map((n) => {
    for (const flag of [`--${n}`, `--no-${n}`])
      if (typed.some((a) => a === flag || a.startsWith(`${flag}=`))) return flag;
    if (n.length === 1 && typed.some((a) => /^-[^-]/.test(a) && a.includes(n))) return `-${n}`;
    return n;
  });
  const options = asTyped.every((a) => a.startsWith('-'));
  const what = `${options ? 'option' : 'argument'}${asTyped.length > 1 ? 's' : ''}`;
  const longOptions = [...new Set(known.filter((k) => k.length > 1).map(kebab))];
  const typo = asTyped.find((a) => a.startsWith('--'));
  const guess = typo ? closest(typo.replace(/^--(no-)?/, ''), longOptions) : undefined;
  return {
    message: `Unknown ${what}: ${asTyped.join(', ')}.`,
    hint: guess ? `Did you mean --${guess}? ${HELP_HINT}` : HELP_HINT,
  };
}

/** "Invalid values: Argument: reconnect, Given: "x", Choices: "always", …": a line per option. */
function invalidChoices(message: string): { message: string; hint: string } | undefined {
  if (!message.startsWith('Invalid values:')) return undefined;
  const lines = [...message.matchAll(/Argument: (.+?), Given: (.+), Choices: (.+)$/gm)].map(
    ([, key, given, choices]) => {
      const names = choices!.split(', ').map((c) => c.replace(/^"(.*)"$/, '$1'));
      const either = names.length > 1 ? `${names.slice(0, -1).join(', ')} or ${names.at(-1)}` : names[0];
      return `--${kebab(key!)} must be ${either} (got ${given}).`;
    },
  );
  return lines.length > 0 ? { message: lines.join('\n'), hint: HELP_HINT } : undefined;
}

/** "Not enough non-option arguments": every command that demands a word demands the environment. */
function missingEnvironment(
  message: string,
  typed: readonly string[],
  known: YargsOptions,
): { message: string; hint: string } | undefined {
  if (!message.startsWith('Not enough non-option arguments')) return undefined;
  const valued = valuedOptions(known);
  const words = ownWords(typed);
  // The command's own words: not options, not an option's value.
  const command = words.filter(
    (w, i) => !w.startsWith('-') && !(i > 0 && /^--[^=]+$/.test(words[i - 1]!) && valued.has(words[i - 1]!.slice(2))),
  );
  return {
    message: 'Which environment?',
    hint: `Run: dbtunnel ${[...command, '<env>'].join(' ')} [db…]   (dbtunnel list shows them)`,
  };
}

/** "Missing required argument: policy\n<why>": the why, which names the option, alone. */
function missingRequired(message: string): { message: string; hint: string } | undefined {
  const m = /^Missing required arguments?: ([^\n]+)(?:\n(.+))?$/s.exec(message);
  if (!m) return undefined;
  return {
    message: m[2]
      ? `${m[2]}.`
      : `Missing: ${m[1]!
          .split(', ')
          .map((k) => `--${kebab(k)}`)
          .join(', ')}.`,
    hint: HELP_HINT,
  };
}
