import { defineConfig } from 'vitest/config';

// The bench's own check, run by `npm run bench` before it measures anything with its C plugin (not
// by `npm test`: neither the tests nor CI need a C compiler): the C plugin must look to dbtunnel
// exactly as the tests' Node fake does.
export default defineConfig({
  test: {
    include: ['bench/**/*.test.ts'],
    setupFiles: ['test/support/setup.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
