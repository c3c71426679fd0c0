// The session token never appears in argv, logs, --debug, --json or error text, nor in the
// environment of dbtunnel itself or of a `--` command — only in the plugin's. The scenarios of the
// suite run here with --debug, and everything they printed or passed on is searched for every token
// the emulator handed out.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventually, runDbtunnel, startDbtunnel } from '../support/cli.js';
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
  seen.push({
    where: `environ of dbtunnel ${args.join(' ')}`,
    text: await readFile(`/proc/${t.child.pid}/environ`, 'utf8'),
  });
  await until(world);
  t.child.kill('SIGINT');
  await t.exited;
  seen.push({ where: `output of dbtunnel ${args.join(' ')}`, text: t.stdout() + t.stderr() });
}

it("no token anywhere but the plugin's environment, across the scenarios", async () => {
  // A plain tunnel; --json; a reconnect after AWS ends the session; a plugin killed the hard way.
  await hold([], () => {});
  await hold(['--json'], () => {});
  await hold(['--reconnect', 'always'], async (w) => {
    const first = w.emu.activeSessions()[0]!.id;
    w.emu.endSession(first);
    await eventually(() => w.emu.activeSessions().some((s) => s.id !== first), 15_000);
  });
  await hold([], () => {}, { FAKE_PLUGIN_IGNORE_SIGINT: '1' });
  // A plugin that prints the token: --debug shows the plugin's lines word for word, less the token.
  await hold([], () => {}, { FAKE_PLUGIN_PRINT_TOKEN: '1' });
  expect(seen.at(-1)!.text).toContain('plugin mydb printed: token (session token)');
  expect(seen.at(-1)!.text).toContain('plugin mydb printed on stderr: token (session token)');
  // A `--` command dumps its whole environment.
  const dump = path.join(world.dir, 'command-env.txt');
  const cmd = await runDbtunnel(
    ['--config', world.configFile, 'stg', 'mydb', '--debug', '--', 'sh', '-c', `env > ${dump}`],
    world.env,
  );
  seen.push({ where: 'output of dbtunnel -- command', text: cmd.stdout + cmd.stderr });
  seen.push({ where: 'environment of the -- command', text: await readFile(dump, 'utf8') });
  // Failures after StartSession: a plugin that never opens the port.
  world.emu.hangDataChannel = true;
  const timeout = await runDbtunnel(
    ['--config', world.configFile, 'stg', 'mydb', '--debug', '--timeout', '1'],
    world.env,
  );
  seen.push({ where: 'output of a start timeout', text: timeout.stdout + timeout.stderr });
  world.emu.hangDataChannel = false;
  // In the background: its log, state, ps and down.
  const up = await runDbtunnel(['--config', world.configFile, 'up', '-d', 'stg', 'mydb', '--debug'], world.env);
  const state = path.join(world.dir, '.local', 'state', 'dbtunnel');
  // Its files (the supervisor's log, what it holds), not its socket.
  for (const f of await readdir(state, { withFileTypes: true }))
    if (f.isFile())
      seen.push({ where: `background ${f.name}`, text: await readFile(path.join(state, f.name), 'utf8') });
  const ps = await runDbtunnel(['ps', '--json'], world.env);
  const logs = await runDbtunnel(['logs', 'stg', '--json'], world.env);
  const down = await runDbtunnel(['down'], world.env);
  seen.push({
    where: 'up, ps, logs, down',
    text: up.stdout + up.stderr + ps.stdout + logs.stdout + down.stdout + down.stderr,
  });

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
    const holders = Object.entries(r.env)
      .filter(([, v]) => tokens.some((t) => v.includes(t)))
      .map(([k]) => k);
    expect(holders).toEqual(['AWS_SSM_START_SESSION_RESPONSE']);
  }
}, 120_000);

it('a plugin that prints every secret it holds and fails: none of them in any output or file', async () => {
  // An MFA role (the plugin gets its keys in its environment), a proxy URL with a password.
  const role = 'arn:aws:iam::123456789012:role/db-tunnel-mfa';
  const serial = 'arn:aws:iam::123456789012:mfa/dev';
  const proxy = 'http://alice:proxy-password-1234@127.0.0.1:9';
  const w = await createWorld({
    awsConfig: `[profile stg-mfa]\nrole_arn = ${role}\nsource_profile = stg\nmfa_serial = ${serial}\nregion = ap-northeast-1\n`,
    scenario: { roles: [{ arn: role, mfaSerial: serial, mfaCode: '123456' }] },
    env: { FAKE_PLUGIN_LEAK: '1', HTTPS_PROXY: proxy, NO_PROXY: '127.0.0.1' },
  });
  try {
    const outputs: { where: string; text: string }[] = [];
    const args = ['--config', w.configFile, 'stg', 'mydb', '--profile', 'stg-mfa'];
    for (const extra of [[], ['--json'], ['--debug']]) {
      const r = await runDbtunnel([...args, ...extra], w.env, { input: '123456\n' });
      expect({ extra, code: r.code }).toEqual({ extra, code: 25 });
      outputs.push({ where: `dbtunnel ${extra.join(' ')}`, text: r.stdout + r.stderr });
    }
    expect(outputs[0]!.text).toContain('session-manager-plugin exited (code 1) before the tunnel for mydb was ready');
    expect(outputs[0]!.text).toContain('token (session token)');
    expect(JSON.parse(outputs[1]!.text.trim().split('\n').at(-1)!)).toMatchObject({ event: 'error', exitCode: 25 });
    // In the background: the kept role credentials are handed to the plugin, which leaks them.
    const up = await runDbtunnel(['--config', w.configFile, 'up', '-d', 'stg', 'mydb', '--profile', 'stg-mfa'], w.env);
    expect(up.code).toBe(25);
    outputs.push({ where: 'up -d', text: up.stdout + up.stderr });
    const logs = await runDbtunnel(['logs', 'stg'], w.env);
    expect(logs.stdout).toContain('error: session-manager-plugin exited (code 1)');
    outputs.push({ where: 'logs', text: logs.stdout + logs.stderr });
    // Every file the runs left, but the plugin's own records (its environment, by design) and the
    // 0600 file that keeps the role credentials.
    const keep = path.join(w.dir, '.cache', 'dbtunnel', 'credentials');
    const walk = async (dir: string): Promise<string[]> => {
      const found: string[] = [];
      for (const e of await readdir(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (p === keep || e.name === 'plugin-runs' || e.name.startsWith('aws-')) continue;
        found.push(...(e.isDirectory() ? await walk(p) : e.isFile() ? [p] : []));
      }
      return found;
    };
    const files = await walk(w.dir);
    expect(files.some((f) => f.endsWith('.log'))).toBe(true); // the background's log is among them
    for (const f of files) outputs.push({ where: f, text: await readFile(f, 'utf8') });

    const records = await w.pluginRecords();
    expect(records.length).toBe(4);
    const secrets = [
      ...w.emu.tokens,
      'proxy-password-1234',
      ...records.flatMap((r) => [r.env.AWS_SECRET_ACCESS_KEY!, r.env.AWS_SESSION_TOKEN!]),
    ];
    expect(secrets.filter(Boolean).length).toBe(w.emu.tokens.length + 1 + 2 * records.length);
    for (const secret of secrets)
      for (const { where, text } of outputs) expect(text.includes(secret), `a secret in ${where}`).toBe(false);
    // Each shown by what it is.
    expect(outputs[2]!.text).toMatch(/AWS_SECRET_ACCESS_KEY=\(AWS secret key\)/);
    expect(outputs[2]!.text).toMatch(
      /HTTPS_PROXY=http:\/\/alice:\(password\)@127\.0\.0\.1:9|HTTPS_PROXY=http:\/\/alice:\(proxy password\)@/,
    );
  } finally {
    await runDbtunnel(['down'], w.env);
    await w.close();
  }
}, 120_000);
