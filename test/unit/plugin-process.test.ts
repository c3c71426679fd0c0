import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TunnelError } from '../../src/errors.js';
import { pluginVersion, whyItFailed } from '../../src/plugin/locate.js';
import { spawnPlugin } from '../../src/plugin/process.js';

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

  it.each([
    [{ failed: true, timedOut: true, signal: 'SIGTERM' }, 'no answer within 10 s'],
    [{ failed: true, timedOut: false, signal: 'SIGSEGV' }, 'killed by SIGSEGV'],
    [{ failed: true, timedOut: false, code: 'ENOENT' }, 'it could not be started (ENOENT)'],
    [{ failed: true, timedOut: false, exitCode: 2 }, 'exit code 2'],
  ])('says why in words: %j', (run, words) => {
    expect(whyItFailed(run)).toBe(words);
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
