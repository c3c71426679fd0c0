import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TunnelError } from '../../src/errors.js';
import { pluginVersion, whyItFailed } from '../../src/plugin/locate.js';
import { spawnPlugin } from '../../src/plugin/process.js';
import { identityOf, type FileIdentity } from '../../src/cache-file.js';
import {
  knownPluginVersion,
  rememberedVersion,
  versionCacheFile,
  withVersion,
} from '../../src/plugin/version-cache.js';

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

/** A stand-in plugin that prints `version` and counts how often it was asked. */
async function plugin(version: string, body = ''): Promise<{ file: string; asked: () => Promise<number> }> {
  dir ??= await mkdtemp(path.join(os.tmpdir(), 'dbtunnel-plugin-version-'));
  const file = path.join(dir, 'session-manager-plugin');
  const count = path.join(dir, 'asked');
  await writeFile(file, `#!/bin/sh\necho x >> "${count}"\n${body}echo ${version}\n`);
  await chmod(file, 0o755);
  return {
    file,
    asked: async () => (await readFile(count, 'utf8').catch(() => '')).split('\n').filter(Boolean).length,
  };
}

const ID: FileIdentity = { dev: 1, ino: 2, size: 3, mtimeMs: 4, ctimeMs: 5 };

describe('the plugin version, remembered per plugin file', () => {
  it('is remembered only for the very same file', () => {
    const cache = withVersion(undefined, '/p', ID, '1.2.835.0');
    expect(rememberedVersion(cache, '/p', ID)).toBe('1.2.835.0');
    for (const k of Object.keys(ID) as (keyof FileIdentity)[])
      expect(rememberedVersion(cache, '/p', { ...ID, [k]: ID[k] + 1 })).toBeUndefined();
    expect(rememberedVersion(cache, '/elsewhere', ID)).toBeUndefined();
    expect(rememberedVersion(undefined, '/p', ID)).toBeUndefined();
    expect(rememberedVersion('not an object', '/p', ID)).toBeUndefined();
    expect(rememberedVersion({ '/p': { ...ID, version: '' } }, '/p', ID)).toBeUndefined();
    // An edited cache is not believed beyond what a plugin could say.
    expect(rememberedVersion({ '/p': { ...ID, version: '\u001b]0;pwn\u0007' } }, '/p', ID)).toBeUndefined();
    expect(rememberedVersion({ '/p': { ...ID, version: '99.0 --legacy' } }, '/p', ID)).toBeUndefined();
  });

  it('keeps a few plugin files, the newest answer last, one entry per file', () => {
    let cache: unknown;
    for (let i = 0; i < 12; i++) cache = withVersion(cache, `/p${i}`, ID, `1.${i}`);
    cache = withVersion(cache, '/p11', ID, '2.0');
    const files = Object.keys(cache as object);
    expect(files).toHaveLength(8);
    expect(files.at(-1)).toBe('/p11');
    expect(rememberedVersion(cache, '/p11', ID)).toBe('2.0');
    expect(rememberedVersion(cache, '/p0', ID)).toBeUndefined();
    expect(identityOf({ ...ID, extra: 1 } as FileIdentity)).toEqual(ID);
  });

  it('lives in the XDG cache directory', () => {
    expect(versionCacheFile({ XDG_CACHE_HOME: '/xdg' }, '/home/me')).toBe(
      path.join('/xdg', 'dbtunnel', 'plugin-version.json'),
    );
    expect(versionCacheFile({ XDG_CACHE_HOME: 'relative' }, '/home/me')).toBe(
      path.join('/home/me', '.cache', 'dbtunnel', 'plugin-version.json'),
    );
  });

  it('asks the plugin once, then again only when the file changes', async () => {
    const p = await plugin('1.2.835.0');
    const cacheFile = path.join(dir!, 'cache', 'plugin-version.json');
    expect(await knownPluginVersion(p.file, cacheFile)).toEqual({ version: '1.2.835.0', remembered: false });
    expect(await knownPluginVersion(p.file, cacheFile)).toEqual({ version: '1.2.835.0', remembered: true });
    expect(await p.asked()).toBe(1);
    expect((await stat(cacheFile)).mode & 0o777).toBe(0o600);
    // An upgrade rewrites the file.
    await writeFile(p.file, (await readFile(p.file, 'utf8')).replace('1.2.835.0', '1.2.850.0'));
    expect(await knownPluginVersion(p.file, cacheFile)).toEqual({ version: '1.2.850.0', remembered: false });
    expect(await p.asked()).toBe(2);
  });

  it('answers rightly when the cache cannot be read or written', async () => {
    const p = await plugin('1.2.835.0');
    const blocked = path.join(dir!, 'a-file');
    await writeFile(blocked, 'not a directory');
    const cacheFile = path.join(blocked, 'plugin-version.json');
    expect(await knownPluginVersion(p.file, cacheFile)).toEqual({ version: '1.2.835.0', remembered: false });
    expect(await knownPluginVersion(p.file, cacheFile)).toEqual({ version: '1.2.835.0', remembered: false });
    const garbled = path.join(dir!, 'garbled.json');
    await writeFile(garbled, '{"half":');
    expect(await knownPluginVersion(p.file, garbled)).toEqual({ version: '1.2.835.0', remembered: false });
    expect(await knownPluginVersion(p.file, garbled)).toEqual({ version: '1.2.835.0', remembered: true });
  });
});

describe('asking a plugin its version', () => {
  it('a plugin that fails to answer is not a working plugin', async () => {
    const p = await plugin('1.2.835.0', 'exit 3\n');
    const e = await pluginVersion(p.file).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TunnelError);
    expect((e as TunnelError).kind).toBe('pluginMissing');
    expect((e as TunnelError).message).toBe(`${p.file} --version failed: exit code 3`);
    expect((e as TunnelError).hint).toMatch(/Reinstall session-manager-plugin/);
    await chmod(p.file, 0o644);
    expect(((await pluginVersion(p.file).catch((x: unknown) => x)) as TunnelError).message).toMatch(
      /could not be started \(EACCES\)$/,
    );
  });

  it('says why in words', () => {
    const err = (fields: object) => Object.assign(new Error('x'), fields);
    expect(whyItFailed(err({ killed: true, signal: 'SIGTERM', code: null }))).toBe('no answer within 10 s');
    expect(whyItFailed(err({ killed: false, signal: 'SIGSEGV', code: null }))).toBe('killed by SIGSEGV');
    expect(whyItFailed(err({ code: 'ENOENT' }))).toBe('it could not be started (ENOENT)');
  });
});

describe('a plugin process that cannot start', () => {
  it('counts as exited, and says why', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'dbtunnel-plugin-gone-'));
    const gone = path.join(dir, 'session-manager-plugin');
    const events: unknown[] = [];
    const p = spawnPlugin(gone, { argv: [], env: {} }, {}, (e) => events.push(e));
    expect(await p.exited).toEqual({ code: undefined, signal: undefined });
    expect(p.lastOutput()).toMatch(/ENOENT/);
    expect((await p.stop()).forced).toBe(false);
  });
});
