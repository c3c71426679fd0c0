// The session token never appears in argv, logs, --debug, --json or error text, nor in the
// environment of dbtunnel itself or of a `--` command — only in the plugin's. The scenarios of the
// suite run here with --debug, and everything they printed or passed on is searched for every token
// the emulator handed out.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runDbtunnel, startDbtunnel } from '../support/cli.js';
import { DEV_USER } from '../support/emulator.js';
import { createWorld, type World } from '../support/world.js';

let world: World;
const seen: { where: string; text: string }[] = [];
beforeAll(async () => {
  world = await createWorld({ scenario: { principals: [{ ...DEV_USER }] } });
});
afterAll(async () => {
  await world.close();
});

async function hold(args: string[], until: (w: World) => Promise<void> | void, env: Record<string, string> = {}) {
  const t = startDbtunnel(['--config', world.configFile, 'stg', 'mydb', '--debug', ...args], { ...world.env, ...env });
  await t.waitFor(/mydb → |"event":"ready"/);
  seen.push({ where: `environ of dbtunnel ${args.join(' ')}`, text: await readFile(`/proc/${t.child.pid}/environ`, 'utf8') });
  await until(world);
  t.child.kill('SIGINT');
  await t.exited;
  seen.push({ where: `output of dbtunnel ${args.join(' ')}`, text: t.stdout() + t.stderr() });
}

it('no token anywhere but the plugin\'s environment, across the scenarios', async () => {
  // A plain tunnel; --json; a reconnect after AWS ends the session; a plugin killed the hard way.
  await hold([], () => {});
  await hold(['--json'], () => {});
  await hold(['--reconnect', 'always'], async (w) => {
    w.emu.endSession(w.emu.activeSessions()[0]!.id);
    await new Promise((r) => setTimeout(r, 2500));
  });
  await hold([], () => {}, { FAKE_PLUGIN_IGNORE_SIGINT: '1' });
  // A plugin that prints the token: --debug shows the plugin's lines word for word, less the token.
  await hold([], () => {}, { FAKE_PLUGIN_PRINT_TOKEN: '1' });
  expect(seen.at(-1)!.text).toContain('plugin mydb printed: token (session token)');
  expect(seen.at(-1)!.text).toContain('plugin mydb printed on stderr: token (session token)');
  // A `--` command dumps its whole environment.
  const dump = path.join(world.dir, 'command-env.txt');
  const cmd = await runDbtunnel(['--config', world.configFile, 'stg', 'mydb', '--debug', '--', 'sh', '-c', `env > ${dump}`], world.env);
  seen.push({ where: 'output of dbtunnel -- command', text: cmd.stdout + cmd.stderr });
  seen.push({ where: 'environment of the -- command', text: await readFile(dump, 'utf8') });
  // Failures after StartSession: a plugin that never opens the port.
  world.emu.hangDataChannel = true;
  const timeout = await runDbtunnel(['--config', world.configFile, 'stg', 'mydb', '--debug', '--timeout', '1'], world.env);
  seen.push({ where: 'output of a start timeout', text: timeout.stdout + timeout.stderr });
  world.emu.hangDataChannel = false;
  // In the background: its log, state, ps and down.
  const up = await runDbtunnel(['--config', world.configFile, 'up', '-d', 'stg', 'mydb', '--debug'], world.env);
  const state = path.join(world.dir, '.local', 'state', 'dbtunnel');
  for (const f of await readdir(state)) seen.push({ where: `background ${f}`, text: await readFile(path.join(state, f), 'utf8') });
  const ps = await runDbtunnel(['ps', '--json'], world.env);
  const down = await runDbtunnel(['down'], world.env);
  seen.push({ where: 'up, ps, down', text: up.stdout + up.stderr + ps.stdout + down.stdout + down.stderr });

  // Every argv a plugin saw.
  const records = await world.pluginRecords();
  for (const r of records) seen.push({ where: `argv of plugin ${r.pid}`, text: r.argv.join(' ') });

  const tokens = world.emu.tokens;
  expect(tokens.length).toBeGreaterThanOrEqual(8);
  expect(records.length).toBeGreaterThanOrEqual(7);
  for (const token of tokens) {
    for (const { where, text } of seen) expect(text.includes(token), `token in ${where}`).toBe(false);
  }
  // …and where it must be: each plugin's own environment, under AWS_SSM_START_SESSION_RESPONSE alone.
  for (const r of records) {
    const holders = Object.entries(r.env).filter(([, v]) => tokens.some((t) => v.includes(t))).map(([k]) => k);
    expect(holders).toEqual(['AWS_SSM_START_SESSION_RESPONSE']);
  }
}, 120_000);
