// dbtunnel's small remembered answers (the plugin's version): one JSON file each under
// $XDG_CACHE_HOME/dbtunnel, a map from a key (the plugin's path) to what was learnt. A cache is a
// convenience: unreadable means "not known", unwritable means "not remembered this time"; neither
// changes an answer. It is read as what it is — a file anyone with the user's rights could have
// edited — so every entry is checked before it is believed, never trusted more than asking again.
import os from 'node:os';
import path from 'node:path';
import { MiB, readBoundedFile } from './files.js';
import { ensurePrivateDir, readablePrivateDir, writePrivateFile } from './private-dir.js';
import { xdgBase } from './xdg.js';

/** The parts of a file's stat that change when it is replaced or rewritten. */
export interface FileIdentity {
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
}

/** A file's identity from its stat: what a remembered answer about the file is valid for. Pure. */
export function identityOf(st: FileIdentity): FileIdentity {
  return { dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs };
}

/** Entries kept per cache: one per plugin in use; a long-gone one dropped in time. */
const KEEP = 8;
/** A cache is a few entries; a bigger file is not one of ours. */
const MAX_CACHE_BYTES = MiB;

export function cacheDir(env: NodeJS.ProcessEnv = process.env, home = os.homedir()): string {
  return path.join(xdgBase('cache', env, home), 'dbtunnel');
}

export function cacheFile(name: string, env: NodeJS.ProcessEnv = process.env, home = os.homedir()): string {
  return path.join(cacheDir(env, home), name);
}

/** What the cache holds for `key`, if it is an object (anything else is no entry). Pure. */
export function entryOf(cache: unknown, key: string): Record<string, unknown> | undefined {
  const entry =
    cache && typeof cache === 'object' && Object.hasOwn(cache, key)
      ? (cache as Record<string, unknown>)[key]
      : undefined;
  return entry && typeof entry === 'object' ? (entry as Record<string, unknown>) : undefined;
}

/** The cache with `entry` for `key`, the newest last and only the newest few kept. Pure. */
export function withEntry<T>(cache: unknown, key: string, entry: T): Record<string, T> {
  const others = Object.entries(cache && typeof cache === 'object' ? (cache as Record<string, T>) : {}).filter(
    ([k]) => k !== key,
  );
  return Object.fromEntries([...others.slice(-(KEEP - 1)), [key, entry]]);
}

/** The cache's content, or undefined: none yet, unreadable, not JSON, or in a directory not the user's own. */
export async function readCache(file: string): Promise<unknown> {
  if (!(await readablePrivateDir(path.dirname(file)))) return undefined;
  try {
    return JSON.parse((await readBoundedFile(file, MAX_CACHE_BYTES)).toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

export async function writeCache(file: string, cache: unknown): Promise<void> {
  try {
    if (await ensurePrivateDir(path.dirname(file))) return; // not ours alone: not written
    await writePrivateFile(file, `${JSON.stringify(cache, null, 2)}\n`);
  } catch {
    // not remembered this time; nothing else changes
  }
}
