// Parsing and validating a config's text: YAML, then the schema. Every problem names the file, the
// line and the key path, and says what is allowed. Loaded only when a config's text is new
// (load.ts remembers what was found valid).
import { LineCounter, parseDocument, visit, type Document } from 'yaml';
import type { $ZodIssue } from 'zod/v4/core';
import { TunnelError } from '../errors.js';
import { closest } from '../suggest.js';
import { displayPath, type ConfigText } from './load.js';
import { configSchema, KNOWN_KEYS, type Config } from './schema.js';
import { variableStem } from './resolve.js';
import { yamlShape } from './yaml-shape.js';
import { excerpt } from '../text.js';

interface ParsedFile {
  file: string;
  doc: Document;
  lines: LineCounter;
  data: unknown;
}

/** The config, valid, from its text and its per-person file's; or a TunnelError listing every problem. */
export function validateConfig(baseText: ConfigText, localText: ConfigText | undefined): Config {
  const base = parseConfig(baseText);
  const local = localText ? parseConfig(localText) : undefined;
  for (const src of local ? [base, local] : [base]) {
    if (!isPlainObject(src.data)) {
      const what = Array.isArray(src.data)
        ? 'a list'
        : src.data instanceof Uint8Array
          ? 'binary data (!!binary)'
          : src.data === null
            ? 'empty'
            : `a ${typeof src.data}`;
      throw new TunnelError(
        'config',
        `${displayPath(src.file)}: the file must be a map that starts with \`environments:\`, and it is ${what}.`,
        {
          hint: 'Start from config.example.yaml (or dbtunnel init): environments → env → databases → db.',
        },
      );
    }
  }
  const merged = local ? mergeConfig(base.data, local.data) : base.data;
  const sources = local ? [local, base] : [base];
  const result = configSchema.safeParse(merged);
  const problems: string[] = [];
  if (!result.success) {
    for (const issue of result.error.issues) problems.push(describeIssue(issue, merged, sources));
  } else {
    for (const p of [...duplicateLocalPorts(result.data), ...sharedVariableNames(result.data)]) {
      problems.push(`${locate(p.path, sources)}: ${formatPath(p.path)} ${p.message}`);
    }
  }
  if (problems.length > 0) {
    throw new TunnelError(
      'config',
      `The config has ${problems.length === 1 ? 'a problem' : `${problems.length} problems`}:`,
      {
        details: problems.slice(0, 20),
        hint: 'Every key is described in config.example.yaml and in README "Configuration".',
      },
    );
  }
  return result.data as Config;
}

function parseConfig({ file, text }: ConfigText): ParsedFile {
  const shown = displayPath(file);
  const shape = yamlShape(text);
  if (shape.tooDeep) {
    throw new TunnelError(
      'config',
      `${shown}:${shape.tooDeep.line}: this is nested far too deep for a dbtunnel config (${shape.tooDeep.why}).`,
      {
        hint:
          'A dbtunnel config is a few levels deep (environments → env ' +
          '→ databases → db → host); check that this is the right file.',
      },
    );
  }
  const lines = new LineCounter();
  let doc: Document;
  try {
    doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: true });
  } catch (e) {
    // The parser's own limits (it throws on what it cannot handle): a config problem all the same.
    throw new TunnelError(
      'config',
      `${shown}: this could not be read as YAML: ${firstLine(String((e as Error)?.message ?? e))}`,
      { hint: YAML_HINT },
    );
  }
  const first = doc.errors[0];
  if (first) {
    // An unclosed quote is reported where the file ends; the user needs where it was opened.
    const quote = first.code === 'MISSING_CHAR' && /quote/.test(first.message) ? shape.unclosedQuote : undefined;
    if (quote) {
      throw new TunnelError(
        'config',
        `${shown}:${quote.line}: this is not valid YAML: a value opened with ${quote.quote} here is never closed.`,
        {
          hint:
            `Close the quoted value with ${quote.quote} on the line where it ends (a ` +
            `value that holds ${quote.quote} itself needs the other kind of quotes).`,
        },
      );
    }
    const line = first.linePos?.[0]?.line;
    throw new TunnelError(
      'config',
      `${shown}${line ? `:${line}` : ''}: this is not valid YAML: ${firstLine(first.message)}`,
      { hint: YAML_HINT },
    );
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (e) {
    // yaml's "Excessive alias count indicates a resource exhaustion attack" (a billion laughs).
    const alias = firstAliasLine(doc, lines);
    if (e instanceof ReferenceError && /alias/i.test(e.message)) {
      throw new TunnelError(
        'config',
        `${shown}${alias ? `:${alias}` : ''}: its YAML aliases (*name) ` +
          `expand to more than ${MAX_ALIASES} copies of their values.`,
        {
          hint: 'Write the values out, or use fewer aliases: a dbtunnel config needs none.',
        },
      );
    }
    throw new TunnelError(
      'config',
      `${shown}: this could not be read as YAML: ${firstLine(String((e as Error)?.message ?? e))}`,
      { hint: YAML_HINT },
    );
  }
  return { file, doc, lines, data };
}

const YAML_HINT = 'Fix the YAML syntax at that line (indentation with spaces, a `key: value` per line).';
/** yaml's own default is 100 copies per alias; anything near it is not a hand-written config. */
const MAX_ALIASES = 100;

function firstAliasLine(doc: Document, lines: LineCounter): number | undefined {
  let at: number | undefined;
  visit(doc, {
    Alias(_, node) {
      if (node.range) at = lines.linePos(node.range[0]).line;
      return visit.BREAK;
    },
  });
  return at;
}

/** The first line of one of yaml's messages, without its position (ours is in front) and cut short. */
function firstLine(s: string): string {
  const line = s.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
  return line.length > 160 ? `${line.slice(0, 160)}…` : line;
}

/** Per-person values win; maps merge key by key, anything else is replaced. */
export function mergeConfig(base: unknown, local: unknown): unknown {
  if (isPlainObject(base) && isPlainObject(local)) {
    const out: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(local)) out[k] = k in base ? mergeConfig(base[k], v) : v;
    return out;
  }
  return local === undefined ? base : local;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  // A YAML map, as yaml's toJS makes it: not a list, not !!binary's bytes, not a Date.
  return typeof v === 'object' && v !== null && [Object.prototype, null].includes(Object.getPrototypeOf(v));
}

/** Two databases of one environment cannot share a local port. */
export function duplicateLocalPorts(config: Config): { path: (string | number)[]; message: string }[] {
  const out: { path: (string | number)[]; message: string }[] = [];
  for (const [envName, env] of Object.entries(config.environments)) {
    const seen = new Map<number, string>();
    for (const [dbName, db] of Object.entries(env.databases)) {
      if (db.localPort === undefined || db.localPort === 0) continue;
      const other = seen.get(db.localPort);
      if (other) {
        out.push({
          path: ['environments', envName, 'databases', dbName, 'localPort'],
          message: `is ${db.localPort}, the same as databases.${other}.localPort: ${OWN_PORT}`,
        });
      } else seen.set(db.localPort, dbName);
    }
  }
  return out;
}

/**
 * A `--` command finds each database under DBTUNNEL_<NAME>_HOST and _PORT: two names of one
 * environment that become the same variables (my-db, my.db, MY_DB) would leave one unreachable.
 */
export function sharedVariableNames(config: Config): { path: (string | number)[]; message: string }[] {
  const out: { path: (string | number)[]; message: string }[] = [];
  for (const [envName, env] of Object.entries(config.environments)) {
    const seen = new Map<string, string>();
    for (const dbName of Object.keys(env.databases)) {
      const stem = variableStem(dbName);
      const other = seen.get(stem);
      if (other) {
        out.push({
          path: ['environments', envName, 'databases', dbName],
          message:
            `and databases.${other} both become DBTUNNEL_${stem}_HOST ` +
            `and DBTUNNEL_${stem}_PORT for a \`--\` command: rename one`,
        });
      } else seen.set(stem, dbName);
    }
  }
  return out;
}

function describeIssue(issue: $ZodIssue, data: unknown, sources: ParsedFile[]): string {
  const where = locate(issue.path, sources);
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeysAt(issue.path);
    // A few named, the rest counted: a file that is not a config can have thousands.
    const shown = issue.keys.slice(0, 5);
    const more = issue.keys.length - shown.length;
    return shown
      .map((key) => {
        const keyPath = [...issue.path, key];
        const guess = closest(key, known);
        const allowed = `allowed here: ${known.join(', ')}`;
        return (
          `${locate(keyPath, sources)}: ${formatPath(keyPath)} is not a ` +
          `known key (${guess ? `did you mean "${guess}"? ` : ''}${allowed})`
        );
      })
      .concat(
        more > 0
          ? [`${where}: …and ${more} more unknown keys${issue.path.length ? ` in ${formatPath(issue.path)}` : ''}`]
          : [],
      )
      .join('\n');
  }
  if (issue.code === 'invalid_key') {
    // A map key that breaks a rule: the rule's own message says which.
    const inner = issue.issues[0]?.message ?? issue.message;
    return (
      `${where}: ${formatPath(issue.path)} ` +
      `${inner.startsWith('is ') || inner.startsWith('must ') ? '' : 'is not a valid name: '}${inner}`
    );
  }
  const value = getIn(data, issue.path);
  if (value === undefined && issue.path.length > 0) {
    return `${where}: ${formatPath(issue.path)} is missing: it ${issue.message}`;
  }
  const shown =
    value === undefined || typeof value === 'object'
      ? ''
      : ` (got ${typeof value === 'string' ? excerpt(value) : JSON.stringify(value)})`;
  return `${where}: ${formatPath(issue.path) || 'the file'} ${issue.message}${shown}`;
}

function knownKeysAt(p: PropertyKey[]): readonly string[] {
  const last = p.at(-1);
  if (p.length === 0) return KNOWN_KEYS.top;
  if (last === 'bastion') return KNOWN_KEYS.bastion;
  if (p.length === 2 && p[0] === 'environments') return KNOWN_KEYS.environment;
  if (p.length === 4 && p[2] === 'databases') return KNOWN_KEYS.database;
  return [];
}

function getIn(data: unknown, p: PropertyKey[]): unknown {
  let cur: unknown = data;
  for (const k of p) {
    if (!isPlainObject(cur) && !Array.isArray(cur)) return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[k];
  }
  return cur;
}

/** `file:line` of the deepest node of `p` present in the first file that has it. */
function locate(p: PropertyKey[], sources: ParsedFile[]): string {
  for (const depthCut of [0, 1, 2, 3, 4, 5, 6]) {
    const sub = p.slice(0, Math.max(0, p.length - depthCut));
    for (const src of sources) {
      const line = lineOf(src, sub as (string | number)[]);
      if (line !== undefined) return `${displayPath(src.file)}:${line}`;
    }
    if (sub.length === 0) break;
  }
  return displayPath(sources.at(-1)!.file);
}

function lineOf(src: ParsedFile, p: (string | number)[]): number | undefined {
  if (p.length === 0) return src.doc.contents?.range ? src.lines.linePos(src.doc.contents.range[0]).line : 1;
  // The key's own position reads best ("line of `port:`"), so find the pair in its parent map.
  const parent = p.length === 1 ? src.doc.contents : src.doc.getIn(p.slice(0, -1), true);
  const items = (parent as { items?: { key?: { value?: unknown; range?: [number, number, number] } }[] } | undefined)
    ?.items;
  const pair = items?.find((it) => String(it.key?.value) === String(p.at(-1)));
  const range = pair?.key?.range;
  return range ? src.lines.linePos(range[0]).line : undefined;
}

function formatPath(p: PropertyKey[]): string {
  // A key is text from the file: shown whole when it is short, as most are.
  return p.map((k) => (String(k).length > 60 ? `${String(k).slice(0, 60)}…` : String(k))).join('.');
}

const OWN_PORT = 'give each database its own local port';
