// A lock for a moment's work between dbtunnel processes: a directory made with mkdir, which the
// system creates for one caller only. It guards the step in which a new supervisor looks for a live
// one and, finding none, takes the socket's path — so that two started at once cannot both take it.
//
// Held for a moment only (a connect and a rename), so a lock older than STALE_MS was left by a
// process that died inside that step: it is removed, and the step tried again.
import { mkdir, rm, stat } from 'node:fs/promises';

export const STALE_MS = 10_000;
const WAIT_MS = 20_000;
const RETRY_MS = 25;

/** Run `work` holding the lock at `dir` (a path that must not exist otherwise). */
export async function withLock<T>(dir: string, work: () => Promise<T>, now = Date.now): Promise<T> {
  const until = now() + WAIT_MS;
  for (;;) {
    try {
      await mkdir(dir, { mode: 0o700 });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const since = await stat(dir).then(
      (s) => now() - s.mtimeMs,
      () => 0, // gone meanwhile: try again at once
    );
    if (since > STALE_MS) await rm(dir, { recursive: true, force: true });
    else if (now() > until) throw new Error(`${dir} stays locked`);
    else await new Promise((r) => setTimeout(r, RETRY_MS));
  }
  try {
    return await work();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
