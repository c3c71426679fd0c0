// The plugin's version, remembered per plugin file. Asking `session-manager-plugin --version` is a
// whole process start on every run, on the path to "ready"; the answer can only change when the file
// does. A file is "the same" when its device, inode, size, mtime and ctime all are: an upgrade
// (installer, Homebrew, dpkg, a copy over it) changes at least the inode or the ctime, and ctime
// cannot be set back by anyone. `doctor` always asks afresh.
import { stat } from 'node:fs/promises';
import os from 'node:os';
import { cacheFile, entryOf, identityOf, readCache, withEntry, writeCache, type FileIdentity } from '../cache-file.js';
import { pluginVersion } from './locate.js';
import { parseVersion } from './version.js';

interface Remembered extends FileIdentity {
  version: string;
}

export function versionCacheFile(env: NodeJS.ProcessEnv = process.env, home = os.homedir()): string {
  return cacheFile('plugin-version.json', env, home);
}

/** The remembered version, if it was said by this very file. Pure. */
export function rememberedVersion(cache: unknown, file: string, now: FileIdentity): string | undefined {
  const entry = entryOf(cache, file) as Partial<Remembered> | undefined;
  // Only what a plugin could have said: a version, not text to print or decide by.
  if (!entry || typeof entry.version !== 'string' || !parseVersion(entry.version)) return undefined;
  const same = (Object.keys(identityOf(now)) as (keyof FileIdentity)[]).every((k) => entry[k] === now[k]);
  return same ? entry.version : undefined;
}

/** The cache with this answer added (the newest entries kept). Pure. */
export function withVersion(
  cache: unknown,
  file: string,
  now: FileIdentity,
  version: string,
): Record<string, Remembered> {
  return withEntry<Remembered>(cache, file, { ...identityOf(now), version });
}

/**
 * The plugin's version: remembered if this file said it before, else asked and remembered. The
 * cache is a convenience: when it cannot be written (read-only home), the answer is still right.
 */
export async function knownPluginVersion(
  plugin: string,
  store = versionCacheFile(),
): Promise<{ version: string; remembered: boolean }> {
  const [cache, before] = await Promise.all([readCache(store), stat(plugin)]);
  const now = identityOf(before);
  const remembered = rememberedVersion(cache, plugin, now);
  if (remembered) return { version: remembered, remembered: true };
  const version = await pluginVersion(plugin);
  await writeCache(store, withVersion(cache, plugin, now, version));
  return { version, remembered: false };
}
