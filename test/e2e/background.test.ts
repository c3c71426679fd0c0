// `up -d`, `ps`, `down`: background tunnels, closed properly, stale entries noticed.
import { spawn } from 'node:child_process';
import { copyFile, mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { alive, eventually, runDbtunnel, startDbtunnel } from '../support/cli.js';
import { roundTrip } from '../support/echo-server.js';
import { track, trackPid } from '../support/processes.js';
import { createWorld, defaultConfig, type World } from '../support/world.js';

let world: World | undefined;
afterEach(async () => {
  if (world) {
    await runDbtunnel(['down'], world.env); // whatever a failed test left up
    await world.close();
  }
  world = undefined;
});

const config = defaultConfig({ also: ['reportdb'] });

describe('background tunnels', () => {
  it('up -d returns once ready; ps lists; the tunnel carries bytes; down closes it properly', async () => {
    world = await createWorld({ config });
    const up = await runDbtunnel(['--config', world.configFile, 'up', '-d', 'stg', 'mydb', 'reportdb'], world.env);
    expect(up.code, up.stderr).toBe(0);
    const ports = [...up.stdout.matchAll(/(mydb|reportdb) → 127\.0\.0\.1:(\d+) {3}in the background \(pid (\d+)\)/g)];
    expect(ports.map((m) => m[1]).sort()).toEqual(['mydb', 'reportdb']);
    for (const m of ports) trackPid(Number(m[3]));
    expect(await roundTrip(Number(ports[0]![2]), 'held in the background')).toBe('held in the background');

    const ps = await runDbtunnel(['ps'], world.env);
    expect(ps.stdout.split('\n')[0]).toMatch(/^ENV +DB +ADDRESS +STATE +AGE +PID$/);
    expect(ps.stdout).toMatch(/stg +mydb +127\.0\.0\.1:\d+ +up +\d+s +\d+/);
    const json = JSON.parse((await runDbtunnel(['ps', '--json'], world.env)).stdout) as { db: string; pid: number }[];
    expect(json.map((t) => t.db)).toEqual(['mydb', 'reportdb']);

    // Up again: what is up is left as it is (no new session), and said so.
    const sessions = world.emu.callsOf('StartSession').length;
    const again = await runDbtunnel(['--config', world.configFile, 'up', '-d', 'stg', 'mydb'], world.env);
    expect(again.code, again.stderr).toBe(0);
    const mydbPort = ports.find((m) => m[1] === 'mydb')![2];
    expect(again.stdout).toMatch(
      new RegExp(
        `mydb → 127\\.0\\.0\\.1:${mydbPort}   already up in the background for \\d+s \\(pid ${ports.find((m) => m[1] === 'mydb')![3]}\\)`,
      ),
    );
    expect(world.emu.callsOf('StartSession')).toHaveLength(sessions);
    // The same names from another config are another tunnel: refused until this one is closed.
    const other = path.join(world.dir, 'other.yaml');
    await copyFile(world.configFile, other);
    const clash = await runDbtunnel(['--config', other, 'up', '-d', 'stg', 'mydb'], world.env);
    expect(clash.code).toBe(2);
    expect(clash.stderr).toContain('stg mydb is already up in the background from another config');
    expect(world.emu.callsOf('StartSession')).toHaveLength(sessions);

    const down = await runDbtunnel(['down', 'stg', 'mydb'], world.env);
    expect(down.stdout).toMatch(/closed stg mydb/);
    const mydb = json.find((t) => t.db === 'mydb')!;
    expect(alive(mydb.pid)).toBe(false);
    expect(world.emu.activeSessions()).toHaveLength(1);
    const ended = [...world.emu.sessions.values()].find((s) => s.status === 'Terminated')!;
    expect(ended.endedBy).toBe('plugin'); // the plugin was stopped with SIGINT and told the agent
    expect(world.emu.callsOf('TerminateSession')).toHaveLength(1);

    await runDbtunnel(['down'], world.env);
    expect(world.emu.activeSessions()).toHaveLength(0);
    expect((await runDbtunnel(['ps'], world.env)).stderr).toContain('No tunnels are up in the background');
  });

  it('ps follows a background tunnel through a reconnect: its state and its current session', async () => {
    world = await createWorld({ config });
    const up = await runDbtunnel(['--config', world.configFile, 'up', '-d', 'stg', 'mydb'], world.env);
    expect(up.code, up.stderr).toBe(0);
    trackPid(Number(/pid (\d+)/.exec(up.stdout)![1]));
    const ps = async () =>
      (
        JSON.parse((await runDbtunnel(['ps', '--json'], world!.env)).stdout) as { state: string; sessionId: string }[]
      )[0]!;
    const first = await ps();
    expect(first.state).toBe('up');
    world.emu.endSession(first.sessionId);
    await eventually(async () => (await ps()).sessionId !== first.sessionId, 15_000);
    const now = await ps();
    expect(now.state).toBe('up');
    expect(world.emu.activeSessions().map((s) => s.id)).toEqual([now.sessionId]);
  });

  it('Ctrl-C while up -d waits: what it started is closed, plugins stopped, sessions ended, exit 130', async () => {
    world = await createWorld({ config });
    world.emu.hangDataChannel = true; // the plugins start, and never open their ports
    const up = startDbtunnel(['--config', world.configFile, 'up', '-d', 'stg', 'mydb', 'reportdb'], world.env);
    await eventually(async () => (await world!.pluginRecords()).length === 2, 15_000);
    expect(world.emu.activeSessions()).toHaveLength(2);
    up.child.kill('SIGINT');
    expect((await up.exited).code).toBe(130);
    expect(up.stderr()).toContain('Cancelled: what up -d had started is closed (plugin stopped, session terminated).');
    for (const r of await world.pluginRecords()) await eventually(() => !alive(r.pid), 10_000);
    expect(world.emu.activeSessions()).toHaveLength(0);
    expect(JSON.parse((await runDbtunnel(['ps', '--json'], world.env)).stdout)).toEqual([]);
  });

  it('a background dbtunnel that died is noticed by ps and cleaned', async () => {
    world = await createWorld({ config });
    const up = await runDbtunnel(['--config', world.configFile, 'up', '-d', 'stg', 'mydb'], world.env);
    const pid = Number(/pid (\d+)/.exec(up.stdout)![1]);
    process.kill(pid, 'SIGKILL');
    for (const r of await world.pluginRecords()) process.kill(r.pid, 'SIGINT');
    await eventually(() => !alive(pid));
    const ps = await runDbtunnel(['ps', '--json'], world.env);
    expect(JSON.parse(ps.stdout)).toEqual([]);
    const state = path.join(world.dir, '.local', 'state', 'dbtunnel');
    expect((await readdir(state)).filter((f) => f.endsWith('.json'))).toEqual([]);
  });

  it('an entry whose pid another program has now (after a reboot): not listed, never signalled', async () => {
    world = await createWorld({ config });
    const other = track(spawn('sleep', ['30']));
    const state = path.join(world.dir, '.local', 'state', 'dbtunnel');
    await mkdir(state, { recursive: true });
    const entry = {
      pid: other.pid,
      env: 'stg',
      db: 'mydb',
      host: '127.0.0.1',
      port: 13306,
      sessionId: 'dev-0',
      config: world.configFile,
      startedAt: new Date().toISOString(),
      log: path.join(state, 'stg--mydb.log'),
    };
    await writeFile(path.join(state, 'stg--mydb.json'), JSON.stringify(entry));
    expect(JSON.parse((await runDbtunnel(['ps', '--json'], world.env)).stdout)).toEqual([]);
    expect((await runDbtunnel(['down'], world.env)).stderr).toContain('Nothing to close.');
    expect(alive(other.pid!)).toBe(true);
    expect((await readdir(state)).filter((f) => f.endsWith('.json'))).toEqual([]);
  });

  it('up -d that cannot open: the error, its exit code, nothing left in the background', async () => {
    world = await createWorld({ config, scenario: { instances: [] } });
    const up = await runDbtunnel(['--config', world.configFile, 'up', '-d', 'stg', 'mydb'], world.env);
    expect(up.code).toBe(21);
    expect(up.stderr).toContain('No running instance is tagged Name=bastion-db-maintenance');
    expect(JSON.parse((await runDbtunnel(['ps', '--json'], world.env)).stdout)).toEqual([]);
  });
});
