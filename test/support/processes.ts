// Every process a test starts is registered here; after each test, any still running is killed
// (SIGKILL: a stuck one may not run its signal handlers), so a failed test cannot leave load
// behind that slows every test after it.
import type { ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';

const children = new Set<ChildProcess>();
const pids = new Set<number>();

export function track<T extends ChildProcess>(child: T): T {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** A pid learned some other way (the fake plugin records its own). */
export function trackPid(pid: number): void {
  pids.add(pid);
}

export function killStragglers(): number {
  let killed = 0;
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null && c.pid) {
      try {
        process.kill(-c.pid, 'SIGKILL'); // its group, when it leads one
      } catch {
        // not a group leader
      }
      c.kill('SIGKILL');
      killed++;
    }
  }
  children.clear();
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
      killed++;
    } catch {
      // already gone
    }
  }
  pids.clear();
  return killed;
}

/**
 * A program the tests need, found on PATH at once; when it is missing, the test fails now and says
 * what to install (rather than waiting for an output that never comes).
 */
export function requireProgram(name: string, what: string): void {
  const dirs = (process.env.PATH ?? '').split(':').filter(Boolean);
  const found = dirs.some((d) => {
    try {
      accessSync(`${d}/${name}`, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
  if (!found) throw new Error(`${name} is not on PATH: ${what}`);
}
