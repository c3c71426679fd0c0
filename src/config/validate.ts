// Parsing and validating a config's text: YAML, then the schema. Every problem names the file, the
// line and the key path, and says what is allowed. Loaded only when a config's text is new
// (load.ts remembers what was found valid).
import { LineCounter, parseDocument, type Document } from 'yaml';
import type { $ZodIssue } from 'zod/v4/core';
import { TunnelError } from '../errors.js';
import { closest } from '../suggest.js';
import { displayPath, type ConfigText } from './load.js';
import { configSchema, KNOWN_KEYS, type Config } from './schema.js';

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
  const merged = local ? mergeConfig(base.data, local.data) : base.data;
  const sources = local ? [local, base] : [base];
  const result = configSchema.safeParse(merged);
  const problems: string[] = [];
  if (!result.success) {
    for (const issue of result.error.issues) problems.push(describeIssue(issue, merged, sources));
  } else {
    for (const p of duplicateLocalPorts(result.data)) {
      problems.push(`${locate(p.path, sources)}: ${formatPath(p.path)} ${p.message}`);
    }
  }
  if (problems.length > 0) {
    throw new TunnelError('config', `The config has ${problems.length === 1 ? 'a problem' : `${problems.length} problems`}:`, {
      details: problems.slice(0, 20),
      hint: 'Every key is described in config.example.yaml and in README "Configuration".',
    });
  }
  return result.data as Config;
}

function parseConfig({ file, text }: ConfigText): ParsedFile {
  const shown = displayPath(file);
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: true });
  const first = doc.errors[0];
  if (first) {
    const line = first.linePos?.[0]?.line;
    throw new TunnelError('config', `${shown}${line ? `:${line}` : ''}: this is not valid YAML: ${firstLine(first.message)}`, {
      hint: 'Fix the YAML syntax at that line (indentation with spaces, a `key: value` per line).',
    });
  }
  return { file, doc, lines, data: doc.toJS({ maxAliasCount: 100 }) };
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
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
  return typeof v === 'object' && v !== null && !Array.isArray(v);
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
          message: `is ${db.localPort}, the same as databases.${other}.localPort: give each database its own local port`,
        });
      } else seen.set(db.localPort, dbName);
    }
  }
  return out;
}

function describeIssue(issue: $ZodIssue, data: unknown, sources: ParsedFile[]): string {
  const where = locate(issue.path, sources);
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeysAt(issue.path);
    return issue.keys
      .map((key) => {
        const keyPath = [...issue.path, key];
        const guess = closest(key, known);
        const allowed = `allowed here: ${known.join(', ')}`;
        return `${locate(keyPath, sources)}: ${formatPath(keyPath)} is not a known key (${guess ? `did you mean "${guess}"? ` : ''}${allowed})`;
      })
      .join('\n');
  }
  if (issue.code === 'invalid_key') {
    // A map key that breaks a rule: the rule's own message says which.
    const inner = issue.issues[0]?.message ?? issue.message;
    return `${where}: ${formatPath(issue.path)} ${inner.startsWith('is ') || inner.startsWith('must ') ? '' : 'is not a valid name: '}${inner}`;
  }
  const value = getIn(data, issue.path);
  if (value === undefined && issue.path.length > 0) {
    return `${where}: ${formatPath(issue.path)} is missing: it ${issue.message}`;
  }
  const shown = value === undefined || typeof value === 'object' ? '' : ` (got ${JSON.stringify(value)})`;
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
  const items = (parent as { items?: { key?: { value?: unknown; range?: [number, number, number] } }[] } | undefined)?.items;
  const pair = items?.find((it) => String(it.key?.value) === String(p.at(-1)));
  const range = pair?.key?.range;
  return range ? src.lines.linePos(range[0]).line : undefined;
}

function formatPath(p: PropertyKey[]): string {
  return p.map(String).join('.');
}
