// Reading a file dbtunnel is pointed at (a config, a policy, a CA bundle, a cache): only a regular
// file, and only up to a bound. A FIFO would block the read forever, /dev/zero would fill memory,
// and a device may do something merely by being opened. So the path is checked before it is
// opened; it is then opened without blocking (a FIFO swapped in meanwhile cannot hang us), checked
// again through the open descriptor, and read no further than the bound.
import { constants, type Stats } from 'node:fs';
import { type FileHandle, open, stat } from 'node:fs/promises';

export type ReadProblem =
  | { kind: 'missing' }
  | { kind: 'not-a-file'; is: string }
  | { kind: 'too-large'; limit: number; size: number | undefined }
  | { kind: 'unreadable'; code: string | undefined; message: string };

/** Why a file could not be read; callers turn it into their own words (which file, what to do). */
export class FileReadError extends Error {
  readonly problem: ReadProblem;
  constructor(file: string, problem: ReadProblem) {
    super(`${file} ${describeReadProblem(problem)}`);
    this.name = 'FileReadError';
    this.problem = problem;
  }
}

export const KiB = 1024;
export const MiB = 1024 * KiB;

/** What a non-regular file is, in words. Pure. */
export function kindOfFile(
  st: Pick<Stats, 'isDirectory' | 'isFIFO' | 'isSocket' | 'isCharacterDevice' | 'isBlockDevice'>,
): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a named pipe (FIFO)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

/** "is a named pipe (FIFO), not a regular file", "is 2048 KiB: more than the 1024 KiB allowed". Pure. */
export function describeReadProblem(p: ReadProblem): string {
  switch (p.kind) {
    case 'missing':
      return 'does not exist';
    case 'not-a-file':
      return `is ${p.is}, not a regular file`;
    case 'too-large':
      return (
        `is ${p.size === undefined ? 'more' : `${Math.ceil(p.size / KiB)} KiB`}: ` +
        `more than the ${p.limit / KiB} KiB allowed`
      );
    case 'unreadable':
      return p.code === 'EACCES' || p.code === 'EPERM'
        ? 'cannot be read: permission denied'
        : `cannot be read: ${p.message}`;
  }
}

function problemOf(e: unknown): ReadProblem {
  const err = e as NodeJS.ErrnoException;
  if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return { kind: 'missing' };
  return { kind: 'unreadable', code: err.code, message: err.code ?? err.message };
}

// O_NONBLOCK does not exist on Windows, which has no FIFOs to open by path either.
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);
const CHUNK = 64 * KiB;

function checkBefore(file: string, st: Stats, limit: number): void {
  if (!st.isFile()) throw new FileReadError(file, { kind: 'not-a-file', is: kindOfFile(st) });
  if (st.size > limit) throw new FileReadError(file, { kind: 'too-large', limit, size: st.size });
}

function checkOpened(file: string, before: Stats, now: Stats): void {
  // Replaced between the check and the open (by a FIFO, say): not the file that was checked.
  if (!now.isFile() || now.ino !== before.ino || now.dev !== before.dev) {
    throw new FileReadError(file, {
      kind: 'not-a-file',
      is: now.isFile() ? 'a file that changed while it was opened' : kindOfFile(now),
    });
  }
}

/** The whole of a regular file of at most `limit` bytes, or a FileReadError. */
export async function readBoundedFile(file: string, limit: number): Promise<Buffer> {
  let before: Stats;
  try {
    before = await stat(file);
  } catch (e) {
    throw new FileReadError(file, problemOf(e));
  }
  checkBefore(file, before, limit);
  let handle: FileHandle;
  try {
    handle = await open(file, OPEN_FLAGS);
  } catch (e) {
    throw new FileReadError(file, problemOf(e));
  }
  try {
    checkOpened(file, before, await handle.stat());
    const chunks: Buffer[] = [];
    let total = 0;
    // Read to the end, never past the bound (a file may grow, or say size 0 as /proc's do).
    for (;;) {
      const chunk = Buffer.alloc(Math.min(CHUNK, limit + 1 - total));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      chunks.push(chunk.subarray(0, bytesRead));
      total += bytesRead;
      if (total > limit) throw new FileReadError(file, { kind: 'too-large', limit, size: undefined });
    }
    return Buffer.concat(chunks, total);
  } catch (e) {
    if (e instanceof FileReadError) throw e;
    throw new FileReadError(file, problemOf(e));
  } finally {
    await handle.close();
  }
}

/** The last `bytes` of a regular file (a log that grows), with the same checks as readBoundedFile. */
export async function readFileTail(file: string, bytes: number): Promise<Buffer> {
  let before: Stats;
  try {
    before = await stat(file);
  } catch (e) {
    throw new FileReadError(file, problemOf(e));
  }
  if (!before.isFile()) throw new FileReadError(file, { kind: 'not-a-file', is: kindOfFile(before) });
  const handle = await open(file, OPEN_FLAGS).catch((e: unknown) => {
    throw new FileReadError(file, problemOf(e));
  });
  try {
    const now = await handle.stat();
    checkOpened(file, before, now);
    const start = Math.max(0, now.size - bytes);
    const buffer = Buffer.alloc(now.size - start);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, start);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}
