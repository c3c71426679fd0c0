import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// `npm run conformance` (scripts/conformance.mjs): AWS's plugin against the emulator's agent.
export default defineConfig({
  test: {
    root: fileURLToPath(new URL('../..', import.meta.url)),
    include: ['test/conformance/**/*.test.ts'],
    setupFiles: ['test/support/setup.ts'],
    pool: 'forks',
    maxWorkers: 1,
    testTimeout: 60_000,
    hookTimeout: 30_000,
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
