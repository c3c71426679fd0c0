// The directories dbtunnel writes to (its caches, kept credentials, background state) must be the
// user's alone: a directory another user owns or may write to lets them plant a file dbtunnel
// reads back, or a symbolic link that a write would follow. Each is created 0700 and checked
// before use; one that fails the check is refused and not used.
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';

/** What is wrong with a directory for dbtunnel's own files, or undefined. Pure. */
export function privateDirProblem(
  st: { uid: number; mode: number; isDirectory(): boolean; isSymbolicLink(): boolean },
  me: number | undefined,
): string | undefined {
  if (st.isSymbolicLink()) return 'it is a symbolic link';
  if (!st.isDirectory()) return 'it is not a directory';
  if (me === undefined) return undefined; // Windows: no such owners and modes
  if (st.uid !== me) return `it belongs to another user (uid ${st.uid})`;
  if ((st.mode & 0o077) !== 0)
    return `other users may use it (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}; it must be 0700)`;
  return undefined;
}

/** Make `dir` (0700) if it is not there, and say what is wrong with it if it cannot be used. */
export async function ensurePrivateDir(dir: string): Promise<string | undefined> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    return privateDirProblem(await lstat(dir), process.getuid?.());
  } catch (e) {
    return `it cannot be made (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`;
  }
}

/** For reading: whether `dir` exists and may be read from, without making it. */
export async function readablePrivateDir(dir: string): Promise<boolean> {
  try {
    return privateDirProblem(await lstat(dir), process.getuid?.()) === undefined;
  } catch {
    return false;
  }
}

/**
 * Write a file whole, or not at all: under a new name of its own (created exclusively, so never
 * through a link someone left), then renamed over the old one. Two dbtunnels at once never see half
 * a file. The directory must be private (ensurePrivateDir) already.
 */
export async function writePrivateFile(file: string, text: string): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(tmp, 'wx', 0o600);
  try {
    await handle.writeFile(text);
  } catch (e) {
    await handle.close();
    await rm(tmp, { force: true });
    throw e;
  }
  await handle.close();
  try {
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}
