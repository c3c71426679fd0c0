// yargs' "Unknown arguments: tiemout" in the user's words: options shown as they were typed
// (`--tiemout`), once (yargs lists `--bogus-flag` twice, as bogus-flag and bogusFlag), and the
// nearest known option when one looks like a typo.
import { closest } from '../suggest.js';

/** The hint of every usage error. */
export const HELP_HINT = 'Run dbtunnel --help for the commands and options.';

const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/**
 * The usage error for yargs' unknown-arguments message, or undefined for any other message. Pure:
 * `typed` is the command line, `known` the option names of the command that failed.
 */
export function unknownArguments(message: string, typed: readonly string[], known: readonly string[]): { message: string; hint: string } | undefined {
  const list = /^Unknown arguments?: (.+)$/.exec(message)?.[1];
  if (list === undefined) return undefined;
  const names = list.split(', ');
  const once = names.filter((n) => n === kebab(n) || !names.includes(kebab(n)));
  const asTyped = once.map((n) => {
    for (const flag of [`--${n}`, `--no-${n}`]) if (typed.some((a) => a === flag || a.startsWith(`${flag}=`))) return flag;
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
