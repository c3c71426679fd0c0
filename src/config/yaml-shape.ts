// A first look at a config's text before the YAML parser sees it. The parser recurses once per
// level of nesting: 200,000 `[` take it seconds and end in "Maximum call stack size exceeded", and
// `- - - …` a hundred thousand deep makes V8 abort the process (out of memory compiling a regular
// expression). A dbtunnel config is six levels deep, so anything far deeper is refused here, with
// its line. The same pass finds where a quoted string that never closes was opened: the parser
// reports the end of the file instead. Pure.

/** Deeper than this is not a dbtunnel config (it needs six levels). */
export const MAX_FLOW_DEPTH = 64;
/** Block nesting shows as indentation: content this far right is not a dbtunnel config either. */
export const MAX_INDENT = 200;

export interface YamlShape {
  /** The first line nested deeper than the limits, and how. */
  tooDeep?: { line: number; why: string };
  /** The line where a quoted scalar opens that is still open at the end of the text. */
  unclosedQuote?: { line: number; quote: '"' | "'" };
}

const BLANK = new Set([' ', '\t']);
/** Characters after which (and blanks) a scalar, a quote or a flow collection may start. */
const STARTERS = new Set([':', '-', '?', '[', '{', ',']);

export function yamlShape(text: string): YamlShape {
  const lines = text.split('\n');
  // Block nesting: the column where a line's content starts, past its indentation and any compact
  // `- ` / `? ` indicators (each a level of nesting on the same line).
  for (const [i, line] of lines.entries()) {
    const indent = /^[ \t]*(?:[-?][ \t]+)*/.exec(line)![0].length;
    if (indent > MAX_INDENT) return { tooDeep: { line: i + 1, why: `its content starts at column ${indent + 1}` } };
  }
  let depth = 0;
  let quote: { char: '"' | "'"; line: number } | undefined;
  let blockScalarParent: number | undefined; // indentation of the line that opened a `|` or `>` scalar
  for (const [i, line] of lines.entries()) {
    const lineNo = i + 1;
    if (blockScalarParent !== undefined && !quote) {
      const indent = /^ */.exec(line)![0].length;
      if (line.trim() === '' || indent > blockScalarParent) continue;
      blockScalarParent = undefined;
    }
    let previous = ''; // the last non-blank character on this line, outside quotes
    for (let c = 0; c < line.length; c++) {
      const ch = line[c]!;
      if (quote) {
        if (quote.char === '"' && ch === '\\') c++;
        else if (ch === quote.char) {
          if (quote.char === "'" && line[c + 1] === "'") c++;
          else {
            quote = undefined;
            previous = ch;
          }
        }
        continue;
      }
      const before = c === 0 ? '' : line[c - 1]!;
      const atScalarStart =
        (before === '' || BLANK.has(before) || '[{,'.includes(before)) && (previous === '' || STARTERS.has(previous));
      if (ch === '#' && (before === '' || BLANK.has(before))) break; // a comment, to the end of the line
      if ((ch === '"' || ch === "'") && atScalarStart) {
        quote = { char: ch, line: lineNo };
        continue;
      }
      if ((ch === '[' || ch === '{') && (atScalarStart || depth > 0)) {
        depth++;
        if (depth > MAX_FLOW_DEPTH)
          return { tooDeep: { line: lineNo, why: `it opens more than ${MAX_FLOW_DEPTH} nested [ or {` } };
      } else if ((ch === ']' || ch === '}') && depth > 0) depth--;
      if (!BLANK.has(ch)) previous = ch;
    }
    if (!quote && depth === 0 && /(?:^[ \t]*-|:)[ \t]+[|>][-+0-9]*[ \t]*(#.*)?$/.test(line)) {
      blockScalarParent = /^ */.exec(line)![0].length;
    }
  }
  return quote ? { unclosedQuote: { line: quote.line, quote: quote.char } } : {};
}
