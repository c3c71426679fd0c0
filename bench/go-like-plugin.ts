// Building the bench's plugin, bench/go-like-plugin.c: the test suite's fake plugin in C, which starts
// in a few ms as the real (Go) plugin does. The bench uses it, and a test holds it to the Node fake.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const GO_LIKE_PLUGIN_SOURCE = fileURLToPath(new URL('./go-like-plugin.c', import.meta.url));

/**
 * Compile it with the system's C compiler ($CC, else cc) to `dir`/session-manager-plugin, the name
 * dbtunnel and the AWS CLI look for on PATH. Returns the error's text when there is no compiler or it fails.
 */
export function buildGoLikePlugin(dir: string): { ok: true; file: string } | { ok: false; why: string } {
  const file = path.join(dir, 'session-manager-plugin');
  const r = spawnSync(process.env.CC || 'cc', ['-O2', '-o', file, GO_LIKE_PLUGIN_SOURCE], { encoding: 'utf8' });
  if (r.status === 0) return { ok: true, file };
  return { ok: false, why: r.error?.message ?? r.stderr.trim() };
}
