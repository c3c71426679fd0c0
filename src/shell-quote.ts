// Quoting a word for a shell, by that shell's own rules. Everything dbtunnel prints for a shell to
// read — aliases, completion, --dry-run's commands, the commands its hints suggest — goes through
// here. Pure.

export type Shell = 'bash' | 'zsh' | 'fish';

/** Words that need no quotes in any of the shells (and are not special to them). */
const PLAIN = /^[A-Za-z0-9_./:=@,+%-]+$/;

/**
 * POSIX single quotes, for bash, zsh, dash: inside them nothing is special, so a quote is written
 * as close-quote, escaped quote, open-quote. (zsh's RC_QUOTES reads '' inside quotes as a quote;
 * this never writes two quotes inside one quoted span.)
 */
export function posixQuote(word: string): string {
  return PLAIN.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** fish's single quotes: inside them, \' and \\ are the only escapes (a lone \ stays a \). */
export function fishQuote(word: string): string {
  return PLAIN.test(word) ? word : `'${word.replace(/[\\']/g, (c) => `\\${c}`)}'`;
}

export function quoteFor(shell: Shell, word: string): string {
  return shell === 'fish' ? fishQuote(word) : posixQuote(word);
}

/** A command line for a shell: each word quoted. */
export function commandLine(shell: Shell, words: readonly string[]): string {
  return words.map((w) => quoteFor(shell, w)).join(' ');
}
