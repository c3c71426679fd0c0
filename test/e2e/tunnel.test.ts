// dbtunnel as a user runs it: bin/dbtunnel spawned against the emulator and the fake plugin.
import { readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { roundTrip } from '../support/echo-server.js';
import { alive, eventually, startDbtunnel } from '../support/cli.js';
import { DEV_USER } from '../support/emulator.js';
import { BASTION_ID, createWorld, DB_HOST, defaultConfig, type World } from '../support/world.js';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

async function openTunnel(args: string[] = ['stg', 'mydb'], extraEnv: Record<string, string> = {}) {
  const run = startDbtunnel(['--config', world!.configFile, ...args], { ...world!.env, ...extraEnv });
  const m = await run.waitFor(/mydb → (?:127\.0\.0\.1|\[::1\]):(\d+)/);
  const [record] = await world!.pluginRecords();
  return { run, port: Number(m[1]), plugin: record! };
}

describe('dbtunnel <env> <db>', () => {
  it('loads neither undici, HTTP/2 nor readline, which a tunnel never uses', async () => {
    // readline loads only to ask a question (an MFA code, the production guard). undici (Node 22's,
    // behind an `import` of node:http) is kept out by the build for correctness: see the next test.
    world = await createWorld();
    const preload = path.join(world.dir, 'modules-at-exit.cjs');
    await writeFile(
      preload,
      `process.on('exit', () => require('fs').writeFileSync(${JSON.stringify(world.dir)} + '/modules-' + process.pid, process.moduleLoadList.join('\\n')));\n`,
    );
    const { run, port } = await openTunnel(['stg', 'mydb'], { NODE_OPTIONS: `--require ${preload}` });
    expect(await roundTrip(port, 'x')).toBe('x');
    run.child.kill('SIGINT');
    expect((await run.exited).code).toBe(0);
    const loaded = (await readFile(path.join(world.dir, `modules-${run.child.pid}`), 'utf8')).split('\n');
    expect(loaded).toContain('NativeModule http');
    expect(loaded.filter((m) => /undici|http2|NativeModule readline$/.test(m))).toEqual([]);
  });

  it('under node --jitless (no WebAssembly), as on systems that forbid JIT: the tunnel opens', async () => {
    // Node 22's undici needs WebAssembly; a bundle that loaded it (an `import` of node:http) died here.
    world = await createWorld();
    const { run, port } = await openTunnel(['stg', 'mydb'], { NODE_OPTIONS: '--jitless' });
    expect(await roundTrip(port, 'jitless')).toBe('jitless');
    run.child.kill('SIGINT');
    expect((await run.exited).code).toBe(0);
    expect(run.stderr()).not.toContain('This is a bug');
  });

  it('a client that sends all it has and half-closes (printf … | nc -q1) still gets the answer', async () => {
    // The real plugin forwards a half-close; the test world's plugin and database do too.
    world = await createWorld();
    const { run, port } = await openTunnel();
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true }, () => socket.end('hello'));
      let got = '';
      socket.setEncoding('utf8').on('data', (d: string) => (got += d));
      socket.on('end', () => resolve(got));
      socket.on('error', reject);
    });
    expect(answer).toBe('hello');
    run.child.kill('SIGINT');
    expect((await run.exited).code).toBe(0);
  });

  it('opens a port that carries bytes to the database, and Ctrl-C closes everything', async () => {
    world = await createWorld();
    const { run, port, plugin } = await openTunnel();
    expect(run.stderr()).toContain(`✔ bastion ${BASTION_ID} (bastion-db-maintenance, ap-northeast-1, profile stg)`);
    expect(run.stdout()).toMatch(
      new RegExp(
        `✔ mydb → 127\\.0\\.0\\.1:${port}   \\(mysql -h 127\\.0\\.0\\.1 -P ${port}, mysql://127\\.0\\.0\\.1:${port}\\)`,
      ),
    );
    expect(await roundTrip(port, 'SELECT 1;')).toBe('SELECT 1;');

    // What AWS was asked: one lookup, one StartSession with the document's exact parameters.
    const start = world.emu.callsOf('StartSession');
    expect(start).toHaveLength(1);
    expect(start[0]!.input).toEqual({
      Target: BASTION_ID,
      DocumentName: 'AWS-StartPortForwardingSessionToRemoteHost',
      Parameters: { host: [DB_HOST], portNumber: ['3306'], localPortNumber: [String(port)] },
    });
    expect(world.emu.callsOf('DescribeInstances')).toHaveLength(1);
    expect(world.emu.callsOf('DescribeInstanceInformation')).toHaveLength(0);

    run.child.kill('SIGINT');
    const { code } = await run.exited;
    expect(code).toBe(0);
    expect(run.stderr()).toContain('Closed.');
    // The plugin got SIGINT (it told the agent), then dbtunnel called TerminateSession too.
    const [session] = world.emu.sessions.values();
    expect(session!.endedBy).toBe('plugin');
    expect(world.emu.callsOf('TerminateSession').map((c) => c.input.SessionId)).toEqual([session!.id]);
    expect(alive(plugin.pid)).toBe(false);
    await expect(roundTrip(port, 'x', '127.0.0.1', 500)).rejects.toThrow();
  });

  it.each([
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const)('%s stops the plugin with SIGINT, terminates the session, exits %i', async (signal, exitCode) => {
    world = await createWorld();
    const { run, plugin } = await openTunnel();
    run.child.kill(signal);
    const { code } = await run.exited;
    expect(code).toBe(exitCode);
    expect([...world.emu.sessions.values()][0]!.endedBy).toBe('plugin');
    expect(world.emu.callsOf('TerminateSession')).toHaveLength(1);
    expect(alive(plugin.pid)).toBe(false);
  });

  it("keeps the session token out of the plugin's argv and out of dbtunnel's own environment", async () => {
    world = await createWorld();
    const { run, plugin } = await openTunnel(['stg', 'mydb', '--debug']);
    const token = world.emu.tokens[0]!;
    expect(plugin.argv.join(' ')).not.toContain(token);
    expect(plugin.argv[0]).toBe('AWS_SSM_START_SESSION_RESPONSE');
    expect(JSON.parse(plugin.env.AWS_SSM_START_SESSION_RESPONSE!).TokenValue).toBe(token);
    // dbtunnel's own environment, as the kernel holds it.
    const environ = await readFile(`/proc/${run.child.pid}/environ`, 'utf8');
    expect(environ).not.toContain(token);
    expect(environ).not.toContain('AWS_SSM_START_SESSION_RESPONSE');
    // The plugin runs in its own process group, so the terminal's Ctrl-C never reaches it.
    const stat = await readFile(`/proc/${plugin.pid}/stat`, 'utf8');
    const pgid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
    expect(pgid).toBe(plugin.pid);
    run.child.kill('SIGINT');
    await run.exited;
    expect(run.stdout() + run.stderr()).not.toContain(token);
    expect(run.stderr()).toMatch(/debug \+\d+ms plugin argv:/);
  });

  it('hands the plugin the SSM endpoint the SDK really used, the region and the profile', async () => {
    world = await createWorld();
    const { run, plugin } = await openTunnel();
    expect(plugin.argv.slice(1, 4)).toEqual(['ap-northeast-1', 'StartSession', 'stg']);
    expect(plugin.argv[5]).toBe(world.emu.url);
    expect(JSON.parse(plugin.argv[4]!)).toEqual(world.emu.callsOf('StartSession')[0]!.input);
    run.child.kill('SIGINT');
    await run.exited;
  });

  it('reports [::1] when the plugin binds the IPv6 loopback only', async () => {
    world = await createWorld();
    const { run, port } = await openTunnel(['stg', 'mydb'], { FAKE_PLUGIN_BIND: '::1' });
    expect(run.stdout()).toContain(`mydb → [::1]:${port}`);
    expect(await roundTrip(port, 'v6', '::1')).toBe('v6');
    run.child.kill('SIGINT');
    expect((await run.exited).code).toBe(0);
  });

  it('works with an agent that only speaks basic mode (≤ 3.0.196.0)', async () => {
    world = await createWorld({
      scenario: {
        instances: [{ id: BASTION_ID, tags: { Name: 'bastion-db-maintenance' }, agentVersion: '3.0.161.0' }],
      },
    });
    const { run, port } = await openTunnel();
    expect(await roundTrip(port, 'basic')).toBe('basic');
    run.child.kill('SIGINT');
    expect((await run.exited).code).toBe(0);
  });

  it('warns, naming host and port, when the bastion cannot reach the database', async () => {
    world = await createWorld();
    const { run, port } = await openTunnel();
    await world.db.close();
    await roundTrip(port, 'x', '127.0.0.1', 1000).catch(() => {});
    await run.waitFor(new RegExp(`could not connect to ${DB_HOST.replace(/\./g, '\\.')}:3306 for mydb`));
    expect(run.stderr()).toMatch(/security group/);
    run.child.kill('SIGINT');
    expect((await run.exited).code).toBe(0);
  });

  it('when AWS ends the session: says so, terminates it, exits 26', async () => {
    world = await createWorld();
    const { run } = await openTunnel();
    const [session] = world.emu.sessions.values();
    world.emu.endSession(session!.id, 'Your session timed out due to inactivity and has been terminated.');
    const { code } = await run.exited;
    expect(code).toBe(26);
    expect(run.stderr()).toContain('The session for mydb ended: Your session timed out due to inactivity');
    expect(world.emu.callsOf('TerminateSession')).toHaveLength(1);
  });

  it('kills a plugin that ignores SIGINT after a grace period, and still terminates the session', async () => {
    world = await createWorld();
    const { run, plugin } = await openTunnel(['stg', 'mydb'], { FAKE_PLUGIN_IGNORE_SIGINT: '1' });
    run.child.kill('SIGINT');
    const { code } = await run.exited;
    expect(code).toBe(0);
    expect(run.stderr()).toMatch(/did not stop on SIGINT and was killed/);
    expect(alive(plugin.pid)).toBe(false);
    expect(world.emu.callsOf('TerminateSession')).toHaveLength(1);
    expect(world.emu.activeSessions()).toHaveLength(0);
  });

  it('a plugin that crashes: the session is terminated and dbtunnel says so', async () => {
    world = await createWorld();
    const { run } = await openTunnel(['stg', 'mydb', '--reconnect', 'never'], { FAKE_PLUGIN_CRASH_AFTER_MS: '300' });
    const { code } = await run.exited;
    expect(code).toBe(26);
    expect(run.stderr()).toMatch(/The session for mydb ended/);
    expect(world.emu.activeSessions()).toHaveLength(0);
  });

  it('a plugin that never opens the port: error after --timeout, plugin stopped, session ended', async () => {
    world = await createWorld({ scenario: { failures: {} } });
    world.emu.hangDataChannel = true;
    const run = startDbtunnel(['--config', world.configFile, 'stg', 'mydb', '--timeout', '1'], world.env);
    const { code } = await run.exited;
    expect(code).toBe(25);
    expect(run.stderr()).toMatch(/did not open local port \d+ for mydb within 1 s/);
    expect(run.stderr()).toMatch(/It printed: Starting session with SessionId/);
    const [record] = await world.pluginRecords();
    await eventually(() => !alive(record!.pid));
    expect(world.emu.callsOf('TerminateSession')).toHaveLength(1);
    expect(world.emu.activeSessions()).toHaveLength(0);
  });

  it('Ctrl-C while the tunnel is still opening: the plugin is stopped and the session terminated', async () => {
    world = await createWorld();
    world.emu.hangDataChannel = true;
    const run = startDbtunnel(['--config', world.configFile, 'stg', 'mydb'], world.env);
    await eventually(async () => (await world!.pluginRecords()).length === 1, 10_000);
    const [record] = await world.pluginRecords();
    run.child.kill('SIGINT');
    const { code } = await run.exited;
    expect(code).toBe(0);
    expect(alive(record!.pid)).toBe(false);
    expect(world.emu.callsOf('TerminateSession')).toHaveLength(1);
    expect(world.emu.activeSessions()).toHaveLength(0);
  });

  it('several databases: one lookup, a session each, and one failing does not close the other', async () => {
    world = await createWorld({
      config: {
        environments: {
          stg: {
            profile: 'stg',
            region: 'ap-northeast-1',
            bastion: 'bastion-db-maintenance',
            databases: {
              mydb: { host: DB_HOST, port: 3306, localPort: 0 },
              reportdb: { host: DB_HOST, port: 3306, localPort: 24306 },
            },
          },
        },
      },
    });
    const run = startDbtunnel(['--config', world.configFile, 'stg', 'mydb', 'reportdb'], {
      ...world.env,
      FAKE_PLUGIN_BUSY_PORTS: '24306',
    });
    const m = await run.waitFor(/mydb → 127\.0\.0\.1:(\d+)/);
    await run.waitFor(/reportdb did not open: Local port 24306 for reportdb is already in use/);
    expect(world.emu.callsOf('DescribeInstances')).toHaveLength(1);
    expect(world.emu.callsOf('StartSession')).toHaveLength(2);
    expect(await roundTrip(Number(m[1]), 'still up')).toBe('still up');
    run.child.kill('SIGINT');
    expect((await run.exited).code).toBe(0);
    expect(world.emu.activeSessions()).toHaveLength(0);
  });

  it('dbtunnel killed with SIGKILL: its watchdog stops the plugin within seconds, and the plugin tells the agent', async () => {
    world = await createWorld();
    const { run, plugin, port } = await openTunnel();
    run.child.kill('SIGKILL');
    await eventually(() => !alive(plugin.pid), 8000);
    await eventually(() => [...world!.emu.sessions.values()][0]!.endedBy === 'plugin', 2000);
    await expect(roundTrip(port, 'x', '127.0.0.1', 500)).rejects.toThrow();
  });

  it('dbtunnel killed with SIGKILL, and a plugin that dies writing to a closed pipe (as Go does): it still tells the agent', async () => {
    world = await createWorld();
    const run = startDbtunnel(['--config', world.configFile, 'stg', 'mydb'], {
      ...world.env,
      FAKE_PLUGIN_GO_PIPES: '1',
    });
    await run.waitFor(/mydb → 127\.0\.0\.1:(\d+)/);
    const [plugin] = await world.pluginRecords();
    run.child.kill('SIGKILL');
    await eventually(() => !alive(plugin!.pid), 8000);
    await eventually(() => [...world!.emu.sessions.values()][0]!.endedBy === 'plugin', 2000);
  });

  it('the watchdog leaves with the plugin: no process outlives a normal close', async () => {
    world = await createWorld();
    const { run, plugin } = await openTunnel();
    const { execSync } = await import('node:child_process');
    const dogs = () =>
      execSync(`pgrep -f "dbtunnel-watchdog ${plugin.pid}$" || true`)
        .toString()
        .trim()
        .split('\n')
        .filter(Boolean)
        .map(Number);
    const before = dogs();
    expect(before).toHaveLength(1);
    run.child.kill('SIGINT');
    await run.exited;
    expect(alive(plugin.pid)).toBe(false);
    await eventually(() => before.every((pid) => !alive(pid)), 3000);
  });

  it('dbtunnel holding two tunnels killed with SIGKILL: each plugin is stopped by its watchdog', async () => {
    world = await createWorld({ config: defaultConfig({ also: ['reportdb'] }) });
    const run = startDbtunnel(['--config', world.configFile, 'stg', 'mydb', 'reportdb'], {
      ...world.env,
      FAKE_PLUGIN_GO_PIPES: '1',
    });
    await run.waitFor(/mydb → 127\.0\.0\.1:(\d+)/);
    await run.waitFor(/reportdb → 127\.0\.0\.1:(\d+)/);
    const plugins = await world.pluginRecords();
    expect(plugins).toHaveLength(2);
    run.child.kill('SIGKILL');
    await eventually(() => plugins.every((p) => !alive(p.pid)), 8000);
    await eventually(() => [...world!.emu.sessions.values()].every((s) => s.endedBy === 'plugin'), 2000);
  });

  it('reconnect always: AWS ends the session, a new one opens on the same local port', async () => {
    world = await createWorld();
    const { run, port } = await openTunnel(['stg', 'mydb', '--reconnect', 'always']);
    const [first] = world.emu.sessions.values();
    world.emu.endSession(first!.id, 'Your session timed out due to inactivity and has been terminated.');
    await run.waitFor(/reconnecting mydb on 127\.0\.0\.1:\d+ in 1 s \(attempt 1\)/);
    await eventually(() => world!.emu.activeSessions().length === 1, 8000);
    const second = world.emu.activeSessions()[0]!;
    expect(second.id).not.toBe(first!.id);
    expect(second.parameters.localPortNumber).toEqual([String(port)]);
    await eventually(async () => (await roundTrip(port, 'again').catch(() => '')) === 'again', 8000);
    run.child.kill('SIGINT');
    expect((await run.exited).code).toBe(0);
    expect(world.emu.activeSessions()).toHaveLength(0);
  });

  it('on-failure: AWS ending the session is not a failure (exit 26); a crashed plugin is, until --max-reconnects', async () => {
    world = await createWorld();
    const a = await openTunnel(['stg', 'mydb', '--reconnect', 'on-failure']);
    world.emu.endSession([...world.emu.sessions.values()][0]!.id);
    expect((await a.run.exited).code).toBe(26);
    expect(a.run.stderr()).not.toMatch(/reconnecting/);

    const b = startDbtunnel(
      ['--config', world.configFile, 'stg', 'mydb', '--reconnect', 'on-failure', '--max-reconnects', '2'],
      { ...world.env, FAKE_PLUGIN_CRASH_AFTER_MS: '200' },
    );
    const { code } = await b.exited;
    expect(code).toBe(26);
    expect(b.stderr()).toMatch(/attempt 1\)[\s\S]*attempt 2\)/);
    expect(b.stderr()).toContain('Gave up reconnecting mydb after 2 attempts');
    expect(world.emu.activeSessions()).toHaveLength(0);
  });

  it('the bastion replaced while the tunnel was down: it is looked up again', async () => {
    world = await createWorld();
    const { run, port } = await openTunnel(['stg', 'mydb', '--reconnect', 'always']);
    const old = world.emu.scenario.instances![0]!;
    old.state = 'terminated';
    world.emu.scenario.instances!.push({ id: 'i-0fffffffffffffff1', tags: { Name: 'bastion-db-maintenance' } });
    world.emu.endSession([...world.emu.sessions.values()][0]!.id);
    await eventually(() => world!.emu.activeSessions().some((s) => s.target === 'i-0fffffffffffffff1'), 15_000);
    expect(run.stderr()).toMatch(/Reconnecting mydb failed: The bastion i-0abc1234def567890 is not connected/);
    await eventually(async () => (await roundTrip(port, 'new bastion').catch(() => '')) === 'new bastion', 8000);
    run.child.kill('SIGINT');
    expect((await run.exited).code).toBe(0);
  });

  it('credentials expired while reconnecting: says how to refresh them once, and retries within the bound', async () => {
    const dev = { ...DEV_USER };
    world = await createWorld({ scenario: { principals: [dev] } });
    const { run, port } = await openTunnel(['stg', 'mydb', '--reconnect', 'always']);
    dev.expired = true;
    world.emu.endSession(world.emu.activeSessions()[0]!.id);
    await run.waitFor(/Reconnecting mydb failed: Your AWS credentials have expired/);
    await run.waitFor(/aws sso login --profile stg/);
    dev.expired = false; // the user logged in again
    await eventually(async () => (await roundTrip(port, 'fresh').catch(() => '')) === 'fresh', 15_000);
    expect(run.stderr().match(/aws sso login --profile stg/g)).toHaveLength(1);
    run.child.kill('SIGINT');
    expect((await run.exited).code).toBe(0);
  });

  /**
   * A bug in dbtunnel, injected from outside (Node's --require): the ready line's write throws, inside
   * dbtunnel's own code, once the tunnel is up.
   */
  async function withInjectedBug(args: string[] = []) {
    world = await createWorld();
    const preload = path.join(world.dir, 'inject-bug.cjs');
    await writeFile(
      preload,
      `const write = process.stdout.write.bind(process.stdout);
let done = false;
process.stdout.write = (chunk, ...rest) => {
  const result = write(chunk, ...rest);
  if (!done && String(chunk).includes('mydb →')) { done = true; throw new Error('injected fault (test)'); }
  return result;
};
`,
    );
    return startDbtunnel(['--config', world.configFile, 'stg', 'mydb', ...args], {
      ...world.env,
      NODE_OPTIONS: `--require ${preload}`,
    });
  }

  it('an uncaught exception (a bug): reported once, plugin stopped, session terminated, exit 1', async () => {
    const run = await withInjectedBug();
    const { code } = await run.exited;
    expect(code).toBe(1);
    expect(run.stderr()).toContain('Unexpected error: injected fault (test)');
    expect(run.stderr()).toContain('This is a bug in dbtunnel');
    const [record] = await world!.pluginRecords();
    expect(alive(record!.pid)).toBe(false);
    expect([...world!.emu.sessions.values()][0]!.endedBy).toBe('plugin');
    expect(world!.emu.callsOf('TerminateSession')).toHaveLength(1);
    expect(run.stderr()).not.toMatch(/^\s+at /m); // no stack without --debug
  });

  it("with --debug, a bug's stack trace names dbtunnel's source files (the minified bundle's source maps)", async () => {
    const run = await withInjectedBug(['--debug']);
    expect((await run.exited).code).toBe(1);
    expect(run.stderr()).toMatch(/^\s+at .*src[\\/]cli[\\/]terminal\.ts:\d+:\d+\)?$/m);
  });
});
