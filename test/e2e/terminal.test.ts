// In a real terminal (a pseudo-terminal from util-linux `script`): the spinner shows there and
// only there, colours follow NO_COLOR, and Ctrl-C typed at the terminal closes the tunnel.
import { spawn } from 'node:child_process';
import { track } from '../support/processes.js';
import { afterEach, expect, it } from 'vitest';
import { BIN, eventually } from '../support/cli.js';
import { createWorld, type World } from '../support/world.js';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

function inTerminal(args: string[], env: Record<string, string>, columns = 100) {
  const command = `stty cols ${columns} rows 30; exec ${[process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ')}`;
  const child = track(
    spawn('script', ['-qfec', command, '/dev/null'], {
      env: { ...env, TERM: 'xterm-256color' },
      stdio: ['pipe', 'pipe', 'pipe'],
    }),
  );
  let screen = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (screen += d));
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  return { child, screen: () => screen, exited };
}

it('on a terminal: a spinner while opening, colours unless NO_COLOR, Ctrl-C at the keyboard closes', async () => {
  world = await createWorld();
  const { NO_COLOR: _ignored, ...env } = world.env;
  const t = inTerminal(['--config', world.configFile, 'stg', 'mydb'], env);
  await eventually(() => /mydb → /.test(t.screen()), 15_000);
  expect(t.screen()).toMatch(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/); // ora's spinner frames
  expect(t.screen()).toContain('\u001b[32m✔\u001b[39m'); // a green tick
  t.child.stdin.write('\u0003'); // Ctrl-C, as typed: the terminal sends SIGINT to dbtunnel's group
  expect(await t.exited).toBe(0);
  expect(t.screen()).toContain('Closed.');
  expect(world.emu.activeSessions()).toHaveLength(0);
  expect(world.emu.callsOf('TerminateSession')).toHaveLength(1);
  // The plugin, in its own process group, did not get the terminal's SIGINT: dbtunnel sent it.
  expect([...world.emu.sessions.values()][0]!.endedBy).toBe('plugin');
});

it('NO_COLOR: no colour codes even on a terminal', async () => {
  world = await createWorld();
  const t = inTerminal(['--config', world.configFile, 'stg', 'mydb'], { ...world.env, NO_COLOR: '1' });
  await eventually(() => /mydb → /.test(t.screen()), 15_000);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: no colour codes is the point
  expect(t.screen()).not.toMatch(/\u001b\[3\dm/);
  t.child.stdin.write('\u0003');
  expect(await t.exited).toBe(0);
});

it('a terminal that reports 0 columns: no spinner (it would redraw forever), the tunnel opens', async () => {
  world = await createWorld();
  const t = inTerminal(['--config', world.configFile, 'stg', 'mydb'], world.env, 0);
  await eventually(() => /mydb → /.test(t.screen()), 15_000);
  expect(t.screen()).not.toMatch(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/);
  t.child.stdin.write('\u0003');
  expect(await t.exited).toBe(0);
});

it('not on a terminal: no spinner, no colour', async () => {
  world = await createWorld();
  const { NO_COLOR: _ignored, ...env } = world.env;
  const child = track(spawn(process.execPath, [BIN, '--config', world.configFile, 'stg', 'mydb'], { env }));
  let all = '';
  child.stdout.on('data', (d) => (all += d));
  child.stderr.on('data', (d) => (all += d));
  await eventually(() => /mydb → /.test(all), 15_000);
  child.kill('SIGINT');
  await new Promise((r) => child.on('close', r));
  // biome-ignore lint/suspicious/noControlCharactersInRegex: no escape codes is the point
  expect(all).not.toMatch(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]|\u001b\[/);
});
