// The plugin's version, remembered per plugin file. Asking `session-manager-plugin --version` is a
// whole process start on every run, on the path to "ready"; the answer can only change when the file
// does. A file is "the same" when its device, inode, size, mtime and ctime all are: an upgrade
// (installer, Homebrew, dpkg, a copy over it) changes at least the inode or the ctime, and ctime
// cannot be set back by anyone. `doctor` always asks afresh.
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { xdgBase } from '../xdg.js';
import { pluginVersion } from './locate.js';

export interface FileIdentity {
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
}

interface Remembered extends FileIdentity {
  version: string;
}

/** Plugin path → what it said last time. A handful of entries at most (one per install). */
type VersionFile = Record<string, Remembered>;

/** Entries kept: more than one install is rare; a long-gone one is dropped eventually. */
const KEEP = 8;

export function versionCacheFile(env: NodeJS.ProcessEnv = process.env, home = os.homedir()): string {
  return path.join(xdgBase('cache', env, home), 'dbtunnel', 'plugin-version.json');
}

/** The parts of a stat that change when the file is replaced or rewritten. Pure. */
export function identityOf(st: FileIdentity): FileIdentity {
  return { dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs };
}

/** The remembered version, if it was said by this very file. Pure. */
export function rememberedVersion(cache: unknown, file: string, now: FileIdentity): string | undefined {
  const entry = (cache as VersionFile | null)?.[file];
  if (!entry || typeof entry.version !== 'string' || !entry.version) return undefined;
  const same = (Object.keys(identityOf(now)) as (keyof FileIdentity)[]).every((k) => entry[k] === now[k]);
  return same ? entry.version : undefined;
}

/** The cache with this answer added (the newest entries kept). Pure. */
export function withVersion(cache: unknown, file: string, now: FileIdentity, version: string): VersionFile {
  const entries = Object.entries(cache && typeof cache === 'object' ? (cache as VersionFile) : {}).filter(([f]) => f !== file);
  return Object.fromEntries([...entries.slice(-(KEEP - 1)), [file, { ...identityOf(now), version }]]);
}

async function readCache(file: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as unknown;
  } catch {
    return undefined; // none yet, or unreadable: ask the plugin
  }
}

/**
 * The plugin's version: remembered if this file said it before, else asked and remembered. The
 * cache is a convenience: when it cannot be written (read-only home), the answer is still right.
 */
export async function knownPluginVersion(
  plugin: string,
  cacheFile = versionCacheFile(),
): Promise<{ version: string; remembered: boolean }> {
  const [cache, before] = await Promise.all([readCache(cacheFile), stat(plugin)]);
  const now = identityOf(before);
  const remembered = rememberedVersion(cache, plugin, now);
  if (remembered) return { version: remembered, remembered: true };
  const version = await pluginVersion(plugin);
  try {
    await mkdir(path.dirname(cacheFile), { recursive: true, mode: 0o700 });
    // Written whole under another name, then renamed: two dbtunnels at once never see half a file.
    const tmp = `${cacheFile}.${process.pid}.tmp`;
    await writeFile(tmp, `${JSON.stringify(withVersion(cache, plugin, now, version), null, 2)}\n`, { mode: 0o600 });
    await rename(tmp, cacheFile);
  } catch {
    // not remembered this time; nothing else changes
  }
  return { version, remembered: false };
}
