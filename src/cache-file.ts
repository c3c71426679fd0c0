// dbtunnel's small remembered answers (the plugin's version, the validated config): one JSON file
// each under $XDG_CACHE_HOME/dbtunnel, a map from a key (the plugin's path; a config's path and the
// install of dbtunnel that read it) to what was learnt. A cache is a convenience: unreadable means
// "not known", unwritable means "not remembered this time"; neither changes an answer.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
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

/** Entries kept per cache: one per plugin, or per config and install, in use; a long-gone one dropped in time. */
const KEEP = 8;

export function cacheFile(name: string, env: NodeJS.ProcessEnv = process.env, home = os.homedir()): string {
  return path.join(xdgBase('cache', env, home), 'dbtunnel', name);
}

/** What the cache holds for `key`, if it is an object (anything else is no entry). Pure. */
export function entryOf(cache: unknown, key: string): Record<string, unknown> | undefined {
  const entry = cache && typeof cache === 'object' ? (cache as Record<string, unknown>)[key] : undefined;
  return entry && typeof entry === 'object' ? (entry as Record<string, unknown>) : undefined;
}

/** The cache with `entry` for `key`, the newest last and only the newest few kept. Pure. */
export function withEntry<T>(cache: unknown, key: string, entry: T): Record<string, T> {
  const others = Object.entries(cache && typeof cache === 'object' ? (cache as Record<string, T>) : {}).filter(([k]) => k !== key);
  return Object.fromEntries([...others.slice(-(KEEP - 1)), [key, entry]]);
}

export async function readCache(file: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as unknown;
  } catch {
    return undefined; // none yet, or unreadable
  }
}

export async function writeCache(file: string, cache: unknown): Promise<void> {
  try {
    await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    // Written whole under another name, then renamed: two dbtunnels at once never see half a file.
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, `${JSON.stringify(cache, null, 2)}\n`, { mode: 0o600 });
    await rename(tmp, file);
  } catch {
    // not remembered this time; nothing else changes
  }
}
