// Files dbtunnel reads or writes for itself: only regular files, read within a bound; its own
// directories private (0700, the user's), its writes whole and never through a link.
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileReadError, readBoundedFile, type ReadProblem } from '../../src/files.js';
import { ensurePrivateDir, privateDirProblem, readablePrivateDir, writePrivateFile } from '../../src/private-dir.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'dbtunnel-files-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function problem(file: string, limit = 1024): Promise<ReadProblem> {
  const e = await readBoundedFile(file, limit).catch((x: unknown) => x);
  expect(e).toBeInstanceOf(FileReadError);
  return (e as FileReadError).problem;
}

describe('reading a file within a bound', () => {
  it('a regular file, whole', async () => {
    await writeFile(path.join(dir, 'f'), 'hello');
    expect((await readBoundedFile(path.join(dir, 'f'), 5)).toString()).toBe('hello');
  });

  it('refuses at once what is not a regular file: a FIFO (which would block forever), a device, a directory', async () => {
    const fifo = path.join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const started = Date.now();
    expect(await problem(fifo)).toEqual({ kind: 'not-a-file', is: 'a named pipe (FIFO)' });
    expect(await problem('/dev/zero')).toEqual({ kind: 'not-a-file', is: 'a character device' });
    expect(await problem(dir)).toEqual({ kind: 'not-a-file', is: 'a directory' });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('refuses a file over the bound, by its size or by what it holds', async () => {
    await writeFile(path.join(dir, 'big'), 'x'.repeat(2048));
    expect(await problem(path.join(dir, 'big'))).toEqual({ kind: 'too-large', limit: 1024, size: 2048 });
    // /proc's files say they are empty and are not: the read itself stops at the bound.
    expect(await problem('/proc/self/maps', 16)).toEqual({ kind: 'too-large', limit: 16, size: undefined });
  });

  it('a missing file', async () => {
    expect(await problem(path.join(dir, 'nope'))).toEqual({ kind: 'missing' });
  });
});

describe("dbtunnel's own directories", () => {
  const st = (o: { uid?: number; mode?: number; dir?: boolean; link?: boolean }) => ({
    uid: o.uid ?? 1000,
    mode: o.mode ?? 0o40700,
    isDirectory: () => o.dir ?? true,
    isSymbolicLink: () => o.link ?? false,
  });
  it.each([
    [st({}), undefined],
    [st({ mode: 0o40755 }), 'other users may use it (mode 0755; it must be 0700)'],
    [st({ mode: 0o40770 }), 'other users may use it (mode 0770; it must be 0700)'],
    [st({ uid: 1001 }), 'it belongs to another user (uid 1001)'],
    [st({ link: true }), 'it is a symbolic link'],
    [st({ dir: false }), 'it is not a directory'],
  ])('%#: %s', (s, why) => {
    expect(privateDirProblem(s, 1000)).toBe(why);
  });

  it('are made 0700', async () => {
    const made = path.join(dir, 'a', 'b');
    expect(await ensurePrivateDir(made)).toBeUndefined();
    expect(await ensurePrivateDir(made)).toBeUndefined();
  });

  it('one others may use is refused, for reading and for writing', async () => {
    const open = path.join(dir, 'open');
    await mkdir(open);
    await chmod(open, 0o777);
    expect(await readablePrivateDir(open)).toBe(false);
    expect(await ensurePrivateDir(open)).toBe('other users may use it (mode 0777; it must be 0700)');
    await chmod(open, 0o700);
    expect(await readablePrivateDir(open)).toBe(true);
    expect(await readablePrivateDir(path.join(dir, 'not-there'))).toBe(false);
  });

  it('a write replaces a link left in its place, and never writes through it', async () => {
    const victim = path.join(dir, 'victim');
    await writeFile(victim, 'untouched');
    await symlink(victim, path.join(dir, 'c.json'));
    await writePrivateFile(path.join(dir, 'c.json'), 'ours');
    expect(await readFile(victim, 'utf8')).toBe('untouched');
    expect(await readFile(path.join(dir, 'c.json'), 'utf8')).toBe('ours');
    expect((await readdir(dir)).sort()).toEqual(['c.json', 'victim']);
  });
});
