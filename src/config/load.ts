// Finding and reading the config; parsing and validating it is validate.ts. Every problem names the
// file (and, from validate.ts, the line and key path) and says what is allowed.
//
// A config found by walking up from the current directory is only used when it is the user's own:
// owned by them (or root) and writable by nobody else. Whoever can put a dbtunnel.yaml in a parent
// directory (/tmp, a shared checkout) would otherwise choose the bastion and drop `confirm: true`.
// Such a file is skipped with a warning; `--config` uses it deliberately (git's safe.directory rule).
import { lstat, stat } from 'node:fs/promises';
import path from 'node:path';
import { TunnelError } from '../errors.js';
import { describeReadProblem, FileReadError, MiB, readBoundedFile } from '../files.js';
import { posixQuote } from '../shell-quote.js';
import { xdgBase } from '../xdg.js';
import type { Config } from './schema.js';

export const MAX_CONFIG_BYTES = MiB;

export interface ConfigLocation {
  /** Absolute path of the config file. */
  file: string;
  /** How it was found, for --debug and error messages. */
  via: '--config' | 'DBTUNNEL_CONFIG' | 'search';
  /** Files found on the way that were not used, and why (printed as warnings). */
  skipped?: SkippedFile[];
}

export interface SkippedFile {
  file: string;
  why: string;
}

export interface LoadedConfig {
  config: Config;
  file: string;
  /** The per-person file merged over `file`, when there is one. */
  localFile: string | undefined;
  /** Config files found but not used (another user's, writable by others). */
  skipped: SkippedFile[];
}

/** A config file as read, before it is parsed. */
export interface ConfigText {
  file: string;
  text: string;
}

/**
 * Where to look for a config, in order (README "Where the config lives"). Pure: the caller checks
 * which exists.
 */
export function configSearchPath(cwd: string, env: NodeJS.ProcessEnv, home: string): string[] {
  const found: string[] = [];
  let dir = path.resolve(cwd);
  for (;;) {
    found.push(path.join(dir, 'dbtunnel.yaml'), path.join(dir, '.dbtunnel.yaml'));
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  found.push(personalConfigPath(env, home));
  return found;
}

/** `$XDG_CONFIG_HOME/dbtunnel/config.yaml`: the personal config. */
export function personalConfigPath(env: NodeJS.ProcessEnv, home: string): string {
  return path.join(xdgBase('config', env, home), 'dbtunnel', 'config.yaml');
}

/** The per-person override file that sits beside a config file. */
export function localConfigPath(file: string): string {
  return path.join(path.dirname(file), 'dbtunnel.local.yaml');
}

/** What makes a file trustworthy to use without being named: its owner and its mode. */
export interface Ownership {
  uid: number;
  mode: number;
}

/**
 * Why a file found (not named) is not to be used, or undefined when it may be: it must belong to
 * the current user or to root, and be writable by nobody else. `me` undefined (Windows): no rule. Pure.
 */
export function untrustedBecause(st: Ownership, me: number | undefined): string | undefined {
  if (me === undefined) return undefined;
  if (st.uid !== me && st.uid !== 0) return `it belongs to another user (uid ${st.uid})`;
  if ((st.mode & 0o022) !== 0)
    return `other users can write to it (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')})`;
  return undefined;
}

const currentUser = (): number | undefined => process.getuid?.();

/**
 * Whether a file found by searching may be used: undefined if so, else why not. A symbolic link
 * must itself be the user's too (else whoever owns the link chooses the file).
 */
export async function foundFileProblem(file: string, me = currentUser()): Promise<string | undefined> {
  const link = await lstat(file);
  if (link.isSymbolicLink()) {
    const why = untrustedBecause({ uid: link.uid, mode: 0 }, me);
    if (why) return `the link ${why.replace(/^it /, '')}`;
  }
  return untrustedBecause(await stat(file), me);
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

export async function findConfig(opts: {
  flag: string | undefined;
  env: NodeJS.ProcessEnv;
  cwd: string;
  home: string;
}): Promise<ConfigLocation> {
  if (opts.flag) return { file: path.resolve(opts.cwd, opts.flag), via: '--config' };
  if (opts.env.DBTUNNEL_CONFIG)
    return { file: path.resolve(opts.cwd, opts.env.DBTUNNEL_CONFIG), via: 'DBTUNNEL_CONFIG' };
  const candidates = configSearchPath(opts.cwd, opts.env, opts.home);
  const skipped: SkippedFile[] = [];
  for (const file of candidates) {
    if (!(await isFile(file))) continue;
    const why = await foundFileProblem(file).catch(() => 'it could not be checked');
    if (!why) return { file, via: 'search', skipped };
    skipped.push({ file, why });
  }
  throw new TunnelError('config', 'No dbtunnel config found.', {
    details: [
      'Looked for dbtunnel.yaml and .dbtunnel.yaml in this directory and its parents,',
      `then ${candidates.at(-1)}.`,
      ...skipped.map((s) => `Skipped ${s.file}: ${s.why}.`),
    ],
    hint:
      'Run dbtunnel init: it asks what to put in a config and writes ' +
      'one. Or point to one with --config FILE or DBTUNNEL_CONFIG.',
  });
}

/** The warning for a file found but not used, with the way to use it deliberately. Pure. */
export function skippedWarning(s: SkippedFile): string {
  const local = path.basename(s.file) === 'dbtunnel.local.yaml';
  return (
    `Skipped ${s.file}: ${s.why}, so it may not be yours. ` +
    (local
      ? `If it is, make it yours (chown, chmod go-w) to have it merged.`
      : `To use it anyway: dbtunnel --config ${posixQuote(s.file)} … (or make it yours: chown, chmod go-w).`)
  );
}

/** Read, parse and validate the config and the per-person file beside it. */
export async function loadConfig(location: ConfigLocation): Promise<LoadedConfig> {
  const base = await readConfigText(location.file, location.via);
  const skipped = [...(location.skipped ?? [])];
  const localFile = localConfigPath(location.file);
  let local: ConfigText | undefined;
  if (await isFile(localFile)) {
    const why = await foundFileProblem(localFile).catch(() => 'it could not be checked');
    if (why) skipped.push({ file: localFile, why });
    else local = await readConfigText(localFile, 'search');
  }
  const { validateConfig } = await import('./validate.js');
  const config = validateConfig(base, local);
  return { config, file: location.file, localFile: local ? localFile : undefined, skipped };
}

/** A config file's text, or an error that says what is wrong with the file itself. */
async function readConfigText(file: string, via: ConfigLocation['via']): Promise<ConfigText> {
  const shown = displayPath(file);
  let bytes: Buffer;
  try {
    bytes = await readBoundedFile(file, MAX_CONFIG_BYTES);
  } catch (e) {
    if (!(e instanceof FileReadError)) throw e;
    const p = e.problem;
    const from = via === 'search' ? '' : ` (from ${via})`;
    const hint =
      p.kind === 'missing'
        ? 'Check the path, or run without --config to search the current directory and its parents.'
        : p.kind === 'unreadable'
          ? `Make it readable by you (chmod u+r ${posixQuote(shown)}).`
          : p.kind === 'too-large'
            ? 'Check that --config points at the right file (a config is a few KiB at most).'
            : 'Point --config (or DBTUNNEL_CONFIG) at the YAML file itself.';
    throw new TunnelError('config', `Config file ${shown} ${describeReadProblem(p)}${from}.`, { hint });
  }
  const text = decodeText(bytes, shown);
  if (text.trim() === '') {
    throw new TunnelError('config', `Config file ${shown} is empty.`, {
      hint: 'Start from config.example.yaml: it needs an `environments:` map.',
    });
  }
  return { file, text };
}

/** The line (1-based) of a byte offset. Pure. */
function lineAt(bytes: Buffer, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i++) if (bytes[i] === 0x0a) line++;
  return line;
}

/** UTF-8 text, or a config error for a file that is not text (binary, another encoding). */
export function decodeText(bytes: Buffer, shown: string): string {
  const nul = bytes.indexOf(0);
  if (nul !== -1) {
    throw new TunnelError(
      'config',
      `Config file ${shown} is not a text file: it has binary data (a NUL byte on line ${lineAt(bytes, nul)}).`,
      {
        hint: 'Point --config at the YAML config itself.',
      },
    );
  }
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    // Where it stops being UTF-8: the first replacement character of a lenient decoding.
    const lenient = new TextDecoder('utf-8').decode(bytes);
    const line = lenient.slice(0, Math.max(0, lenient.indexOf('\uFFFD'))).split('\n').length;
    throw new TunnelError('config', `Config file ${shown} is not UTF-8 text (line ${line}).`, {
      hint: 'Save it as UTF-8 (YAML files are UTF-8).',
    });
  }
}

/** Paths in messages: relative to the current directory when that is shorter. */
export function displayPath(file: string, cwd = process.cwd()): string {
  const rel = path.relative(cwd, file);
  return rel && !rel.startsWith('..') && rel.length < file.length ? rel : file;
}
