// yargs measures its --help layout with string-width, and string-width compiles large
// Unicode-property regular expressions as soon as it is loaded: about 50 ms on every start,
// `--version` included. The build (scripts/build.mjs) points yargs here instead. Printable ASCII is
// one column per character; anything else goes to string-width itself, loaded on first use (the
// bundler turns this require into a lazy initialiser).
type StringWidth = typeof import('string-width').default;
let real: StringWidth | undefined;

export default function stringWidth(text: string, options?: Parameters<StringWidth>[1]): number {
  if (/^[\x20-\x7e]*$/.test(text)) return text.length;
  real ??= (require('string-width') as typeof import('string-width')).default;
  return real(text, options);
}
