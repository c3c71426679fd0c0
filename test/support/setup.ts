import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach } from 'vitest';
import { killStragglers } from './processes.js';

// No test writes into the developer's own cache: code that remembers things (the validated config,
// the plugin's version) does it in a directory of this test file's own. The worlds of end-to-end
// tests set their own HOME and drop XDG_* variables, so this reaches only code run in-process.
const cache = mkdtempSync(path.join(os.tmpdir(), 'dbtunnel-test-cache-'));
process.env.XDG_CACHE_HOME = cache;

afterEach(() => {
  killStragglers();
});

afterAll(() => {
  rmSync(cache, { recursive: true, force: true });
});
