// `npm run conformance`: the emulator's agent against AWS's own session-manager-plugin, built from
// its public source (docs/conformance.md). Without such a build it says so and runs nothing: the
// suite's native-client tests then rest on the emulator alone.
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';

const plugin = process.env.DBTUNNEL_AWS_PLUGIN;
const why = !plugin
  ? 'DBTUNNEL_AWS_PLUGIN is not set'
  : (() => {
      try {
        accessSync(plugin, constants.X_OK);
        return undefined;
      } catch {
        return `DBTUNNEL_AWS_PLUGIN (${plugin}) is not an executable file`;
      }
    })();
if (why) {
  console.log(`conformance with AWS's session-manager-plugin: NOT RUN, ${why}.`);
  console.log('  Build the plugin from its public source and point DBTUNNEL_AWS_PLUGIN at it: docs/conformance.md');
  // Not set: nothing to run. Set to something that is not a plugin: a mistake to fix.
  process.exit(plugin ? 1 : 0);
}
const r = spawnSync(
  'npx',
  ['vitest', 'run', '--config', 'test/conformance/vitest.config.ts', ...process.argv.slice(2)],
  {
    stdio: 'inherit',
  },
);
process.exit(r.status ?? 1);
