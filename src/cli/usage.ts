// The checks every command shares, read from its own declarations (commands/*.ts): options it does
// not have (with the nearest it has, for a typo), an option typed without its value, a choice it
// does not offer, a single-valued option given twice, a value too long to be meant, numbers yargs
// lets through (`--timeout soon` is NaN to it). yargs runs them before its own validation
// (app.ts), and words them through its strings table where it reports itself (yargs-strings.ts).
// Every function here is pure: `typed` is the command line as typed.
import type { Options, PositionalOptions } from 'yargs';
import { closest } from '../suggest.js';
import { excerpt } from '../text.js';

/** The hint of every usage error. */
export const HELP_HINT = 'Run dbtunnel --help for the commands and options.';

/** The longest wait a timer can hold (2^31 - 1 ms): a longer one fires at once. */
export const MAX_TIMEOUT_SECONDS = 2_147_483;

const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** The words before `--` (what follows is the user's command, not dbtunnel's). */
const ownWords = (typed: readonly string[]) => (typed.includes('--') ? typed.slice(0, typed.indexOf('--')) : typed);

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
export function valueProblem(parsed: Record<string, unknown>, d: Declared): string | undefined {
  for (const [key, value] of Object.entries(parsed)) {
    if (key !== kebab(key) && kebab(key) in parsed) continue; // yargs keeps both spellings: check one
    if (Array.isArray(value) && !d.many.has(kebab(key)) && !['_', '--', '$0'].includes(key)) {
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

/** A command's options as the checks read them: by long name (kebab-case) and one-letter alias. */
export interface Declared {
  /** Long names, aliases of more than one letter included. */
  long: Set<string>;
  /** One-letter aliases. */
  short: Set<string>;
  /** Names (long and short) that take a value. */
  valued: Set<string>;
  /** Names that take several values. */
  many: Set<string>;
  /** The choices of the options that have them, by long name. */
  choices: Map<string, readonly string[]>;
}

/** What a command declares (its options and positionals, with the global ones). Pure. */
export function declared(
  options: Record<string, Options>,
  positionals: Record<string, PositionalOptions> = {},
): Declared {
  const d: Declared = { long: new Set(), short: new Set(), valued: new Set(), many: new Set(), choices: new Map() };
  const all: Record<string, Options> = { ...options, help: { type: 'boolean' }, version: { type: 'boolean' } };
  for (const [name, o] of Object.entries(all)) {
    const aliases = [o.alias ?? []].flat();
    const names = [name, ...aliases];
    for (const n of names) (n.length === 1 ? d.short : d.long).add(n);
    if (o.type !== 'boolean' && !o.count) for (const n of names) d.valued.add(n);
    if (o.array) for (const n of names) d.many.add(n);
    if (o.choices) d.choices.set(name, [o.choices].flat().map(String));
  }
  d.short.add('h').add('v');
  for (const [name, p] of Object.entries(positionals)) if (p.array) d.many.add(name);
  return d;
}

/**
 * The first option typed that the command does not have, as typed, and the nearest it has for a
 * typo. The word after an option that takes a value is that value, whatever it looks like.
 */
export function unknownOption(typed: readonly string[], d: Declared): { message: string; hint: string } | undefined {
  const words = ownWords(typed);
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    const long = /^--(no-)?([^=]+)(=.*)?$/s.exec(word);
    if (long) {
      const name = long[2]!;
      if (d.long.has(name) || (long[1] && d.long.has(`no-${name}`))) {
        if (d.valued.has(name) && long[3] === undefined) i++; // its value
        continue;
      }
      const guess = closest(
        name,
        [...d.long].filter((n) => n !== 'help' && n !== 'version'),
      );
      return {
        message: `Unknown option: ${word.split('=')[0]}.`,
        hint: guess ? `Did you mean --${guess}? ${HELP_HINT}` : HELP_HINT,
      };
    }
    const short = /^-([^-\d].*)$/s.exec(word);
    if (short) {
      const letters = [...short[1]!];
      const unknown = letters.find((l) => !d.short.has(l));
      if (unknown) return { message: `Unknown option: -${unknown}.`, hint: HELP_HINT };
      if (d.valued.has(letters.at(-1)!)) i++;
    }
  }
  return undefined;
}

/** An option given a value it does not offer: its choices, in words. Pure. */
export function choiceProblem(parsed: Record<string, unknown>, d: Declared): string | undefined {
  for (const [name, choices] of d.choices) {
    const value = parsed[name];
    if (value === undefined || choices.includes(String(value))) continue;
    const either = choices.length > 1 ? `${choices.slice(0, -1).join(', ')} or ${choices.at(-1)}` : choices[0];
    return `--${name} must be ${either} (got ${JSON.stringify(String(value))}).`;
  }
  return undefined;
}

/** The words of a command line that are neither options nor their values (up to `--`). Pure. */
export function positionalWords(typed: readonly string[], valued: ReadonlySet<string>): string[] {
  const words = ownWords(typed);
  const out: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (!w.startsWith('-') || /^-\d/.test(w)) out.push(w);
    else if (!w.includes('=') && valued.has(w.replace(/^--?/, ''))) i++;
  }
  return out;
}
