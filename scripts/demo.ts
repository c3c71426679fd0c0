// `npm run demo`: a tunnel on a built-in demo world, no AWS account needed. It starts the test
// emulator (as AWS), the fake session-manager-plugin and an echo "database", runs bin/dbtunnel
// against them, sends a few bytes through the tunnel, and holds it until Ctrl-C.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { roundTrip } from '../test/support/echo-server.js';
import { createWorld, defaultConfig } from '../test/support/world.js';

const world = await createWorld({ config: defaultConfig({ databasePort: true }) });
const bin = fileURLToPath(new URL('../bin/dbtunnel', import.meta.url));
console.error(
  `Demo world: AWS emulator at ${world.emu.url}, bastion i-0abc1234def567890 tagged Name=bastion-db-maintenance,`,
);
console.error(`an echo "database" behind it, config ${world.configFile}:\n`);
console.error('$ dbtunnel stg mydb');

const { NO_COLOR: _plain, ...env } = world.env; // the test world is colourless; the demo is not
const child = spawn(process.execPath, [bin, 'stg', 'mydb', '--config', world.configFile], {
  env,
  stdio: ['inherit', 'pipe', 'inherit'],
});
let said = false;
child.stdout.setEncoding('utf8');
child.stdout.on('data', async (chunk: string) => {
  process.stdout.write(chunk);
  const port = /127\.0\.0\.1:(\d+)|\[::1\]:(\d+)/.exec(chunk);
  if (port && !said) {
    said = true;
    const echoed = await roundTrip(Number(port[1] ?? port[2]), 'hello through the tunnel');
    console.error(`\n(demo) sent "hello through the tunnel" to the local port; the database answered "${echoed}"`);
    console.error('(demo) press Ctrl-C to close the tunnel');
  }
});
// Ctrl-C reaches dbtunnel too (same terminal); the demo waits for it to close cleanly.
process.on('SIGINT', () => {});
child.on('exit', async (code) => {
  const left = world.emu.activeSessions().length;
  console.error(`(demo) dbtunnel exited with ${code}; sessions still open on the emulator: ${left}`);
  await world.close();
  process.exit(code ?? 1);
});
