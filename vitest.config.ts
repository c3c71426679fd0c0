import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // AWS's own plugin, where it has been built: `npm run conformance` (docs/conformance.md).
    exclude: ['test/conformance/**', '**/node_modules/**'],
    setupFiles: ['test/support/setup.ts'],
    // End-to-end tests spawn dbtunnel, plugins and servers: two cores, so two files at a time.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Tests that use the SDK in-process (moto set-up) would print its multi-line Node 20 warning.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
