// Finding and reading the config; parsing and validating it is validate.ts. Every problem names the
// file (and, from validate.ts, the line and key path) and says what is allowed.
//
// A config found valid is remembered, keyed by its text and by dbtunnel's own files: the next run
// with the same text skips loading YAML and the schema (~45 ms of a run on a small machine). Any
// edit of the file, or another build of dbtunnel, validates it again.
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheFile, entryOf, identityOf, readCache, withEntry, writeCache } from '../cache-file.js';
import { TunnelError } from '../errors.js';
import { xdgBase } from '../xdg.js';
import type { Config } from './schema.js';

export const MAX_CONFIG_BYTES = 1024 * 1024;

export interface ConfigLocation {
  /** Absolute path of the config file. */
  file: string;
  /** How it was found, for --debug and error messages. */
  via: '--config' | 'DBTUNNEL_CONFIG' | 'search';
}

export interface LoadedConfig {
  config: Config;
  file: string;
  /** The per-person file merged over `file`, when there is one. */
  localFile: string | undefined;
  /** Found valid before, with this very text: not parsed or validated again. */
  remembered: boolean;
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
  found.push(path.join(xdgBase('config', env, home), 'dbtunnel', 'config.yaml'));
  return found;
}

/** The per-person override file that sits beside a config file. */
export function localConfigPath(file: string): string {
  return path.join(path.dirname(file), 'dbtunnel.local.yaml');
}

export async function findConfig(opts: {
  flag: string | undefined;
  env: NodeJS.ProcessEnv;
  cwd: string;
  home: string;
}): Promise<ConfigLocation> {
  if (opts.flag) return { file: path.resolve(opts.cwd, opts.flag), via: '--config' };
  if (opts.env.DBTUNNEL_CONFIG) return { file: path.resolve(opts.cwd, opts.env.DBTUNNEL_CONFIG), via: 'DBTUNNEL_CONFIG' };
  const candidates = configSearchPath(opts.cwd, opts.env, opts.home);
  for (const file of candidates) {
    if (await isFile(file)) return { file, via: 'search' };
  }
  throw new TunnelError('config', 'No dbtunnel config found.', {
    details: [
      'Looked for dbtunnel.yaml and .dbtunnel.yaml in this directory and its parents,',
      `then ${candidates.at(-1)}.`,
    ],
    hint: 'dbtunnel init writes one (it asks what to put in it); or point to one with --config FILE or DBTUNNEL_CONFIG.',
  });
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

export function configCacheFile(env: NodeJS.ProcessEnv = process.env, home = os.homedir()): string {
  return cacheFile('config.json', env, home);
}

/**
 * What a remembered config is keyed by: the text of the config and of its per-person file, and the
 * identity of the code that validated it (a rebuilt or upgraded dbtunnel has new files). Pure.
 */
export function configDigest(code: string, base: ConfigText, local: ConfigText | undefined): string {
  const hash = createHash('sha256').update(code).update('\0').update(base.text);
  if (local) hash.update('\0').update(local.text);
  return hash.digest('hex');
}

/** The config remembered under `key` (a config file, as read by one install) for this digest, if any. Pure. */
export function rememberedConfig(cache: unknown, key: string, digest: string): Config | undefined {
  const entry = entryOf(cache, key);
  return entry?.digest === digest && entry.config && typeof entry.config === 'object' ? (entry.config as Config) : undefined;
}

/**
 * This code's file and that file's identity, or undefined when it is not a file (nothing is
 * remembered then). Each install of dbtunnel (a global one, a project's) keeps its own entry.
 */
async function codeIdentity(): Promise<{ file: string; identity: string } | undefined> {
  try {
    const file = fileURLToPath(import.meta.url);
    return { file, identity: JSON.stringify(identityOf(await stat(file))) };
  } catch {
    return undefined;
  }
}

/**
 * Read, parse and validate the config (and its per-person file); or take it as remembered, when this
 * dbtunnel found the same text valid before. `store: false` neither reads nor writes the cache.
 */
export async function loadConfig(location: ConfigLocation, store: string | false = configCacheFile()): Promise<LoadedConfig> {
  const remembering = store ? Promise.all([readCache(store), codeIdentity()]) : undefined; // never fails
  const base = await readConfigText(location.file, location.via);
  const localFile = localConfigPath(location.file);
  const local = (await isFile(localFile)) ? await readConfigText(localFile, 'search') : undefined;
  const [cache, code] = (await remembering) ?? [undefined, undefined];
  const found = { file: location.file, localFile: local ? localFile : undefined };
  const entry = code && { key: JSON.stringify([location.file, code.file]), digest: configDigest(code.identity, base, local) };
  const known = entry && rememberedConfig(cache, entry.key, entry.digest);
  if (known) return { config: known, ...found, remembered: true };
  // YAML and the schema load only now, when the text is new.
  const { validateConfig } = await import('./validate.js');
  const config = validateConfig(base, local);
  if (store && entry) await writeCache(store, withEntry(cache, entry.key, { digest: entry.digest, config }));
  return { config, ...found, remembered: false };
}

/** A config file's text, or an error that says what is wrong with the file itself. */
async function readConfigText(file: string, via: ConfigLocation['via']): Promise<ConfigText> {
  const shown = displayPath(file);
  let text: string;
  try {
    const info = await stat(file);
    if (info.isDirectory()) {
      throw new TunnelError('config', `${shown} is a directory, not a config file.`, {
        hint: 'Point --config (or DBTUNNEL_CONFIG) at the YAML file itself.',
      });
    }
    if (info.size > MAX_CONFIG_BYTES) {
      throw new TunnelError('config', `${shown} is ${Math.round(info.size / 1024)} KiB: too large to be a dbtunnel config.`, {
        hint: 'Check that --config points at the right file (a config is a few KiB at most).',
      });
    }
    text = await readFile(file, 'utf8');
  } catch (e) {
    if (e instanceof TunnelError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new TunnelError('config', `Config file ${shown} does not exist${via === 'search' ? '' : ` (from ${via})`}.`, {
        hint: 'Check the path, or run without --config to search the current directory and its parents.',
      });
    }
    if (code === 'EACCES' || code === 'EPERM') {
      throw new TunnelError('config', `Config file ${shown} cannot be read: permission denied.`, {
        hint: `Make it readable by you (chmod u+r ${shown}).`,
      });
    }
    throw new TunnelError('config', `Config file ${shown} cannot be read: ${(e as Error).message}`, { cause: e });
  }
  if (text.trim() === '') {
    throw new TunnelError('config', `Config file ${shown} is empty.`, {
      hint: 'Start from config.example.yaml: it needs an `environments:` map.',
    });
  }
  return { file, text };
}

/** Paths in messages: relative to the current directory when that is shorter. */
export function displayPath(file: string, cwd = process.cwd()): string {
  const rel = path.relative(cwd, file);
  return rel && !rel.startsWith('..') && rel.length < file.length ? rel : file;
}
