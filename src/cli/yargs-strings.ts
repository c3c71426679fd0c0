// yargs' own words (its help headings and validation messages), in English, with no file to read.
// yargs asks y18n for them, and y18n reads translations from a `locales` folder it finds relative to
// yargs' code: once bundled, that is two folders above dist/, outside dbtunnel's package (for a
// global install, `lib/node_modules/locales/`). A stray `en.json` there would reword yargs' messages,
// and a malformed one would stop every command. dbtunnel speaks English; yargs' strings are their own
// English text. The build (scripts/build.mjs) gives yargs this in place of y18n.
import { format } from 'node:util';

/**
 * A string with its placeholders filled, and no more: dbtunnel's own wording of a message may leave
 * out what yargs' had (util.format would append the values it has no place for).
 */
function fill(text: string, args: unknown[]): string {
  const places = (text.match(/%[sdifjoO]/g) ?? []).length;
  return format(text, ...args.slice(0, places));
}

export default function englishStrings() {
  let locale = 'en';
  const changed: Record<string, string | { one: string; other: string }> = {}; // yargs' updateStrings()
  return {
    __(text: string, ...args: unknown[]): string {
      if (typeof args.at(-1) === 'function') (args.pop() as () => void)();
      const own = changed[text];
      return fill(typeof own === 'string' ? own : text, args);
    },
    __n(singular: string, plural: string, quantity: number, ...args: unknown[]): string {
      if (typeof args.at(-1) === 'function') (args.pop() as () => void)();
      const own = changed[singular];
      const text = typeof own === 'object' ? own[quantity === 1 ? 'one' : 'other'] : quantity === 1 ? singular : plural;
      return fill(text, [...(text.includes('%d') ? [quantity] : []), ...args]);
    },
    setLocale(l: string): void {
      locale = l;
    },
    getLocale(): string {
      return locale;
    },
    updateLocale(strings: typeof changed): void {
      Object.assign(changed, strings);
    },
  };
}
