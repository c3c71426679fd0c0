// `up -d`, `ps`, `down`, `logs`: tunnels held by the background supervisor, closed properly; two
// `up -d` at once get one tunnel; a supervisor killed loses nothing silently.
import { chmod, copyFile, mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { alive, eventually, runDbtunnel, startDbtunnel } from '../support/cli.js';
import { roundTrip } from '../support/echo-server.js';
import { trackPid } from '../support/processes.js';
import { createWorld, DB_HOST, defaultConfig, type World } from '../support/world.js';

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
  it('up -d returns once ready; one supervisor holds both; ps lists; down closes properly; it leaves once it holds none', async () => {
    world = await createWorld({ config });
    const up = await runDbtunnel(['--config', world.configFile, 'up', '-d', 'stg', 'mydb', 'reportdb'], world.env);
    expect(up.code, up.stderr).toBe(0);
    const ports = [...up.stdout.matchAll(/(mydb|reportdb) → 127\.0\.0\.1:(\d+) {3}in the background \(pid (\d+)\)/g)];
    expect(ports.map((m) => m[1]).sort()).toEqual(['mydb', 'reportdb']);
    for (const m of ports) trackPid(Number(m[3]));
    expect(ports[0]![3]).toBe(ports[1]![3]); // one supervisor, not a process per tunnel
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
    const supervisor = json.find((t) => t.db === 'mydb')!.pid;
    expect(alive(supervisor)).toBe(true); // it still holds reportdb
    expect(world.emu.activeSessions()).toHaveLength(1);
    const ended = [...world.emu.sessions.values()].find((s) => s.status === 'Terminated')!;
    expect(ended.endedBy).toBe('plugin'); // the plugin was stopped with SIGINT and told the agent
    expect(world.emu.callsOf('TerminateSession')).toHaveLength(1);

    await runDbtunnel(['down'], world.env);
    expect(world.emu.activeSessions()).toHaveLength(0);
    expect((await runDbtunnel(['ps'], world.env)).stderr).toContain('No tunnels are up in the background');
    await eventually(() => !alive(supervisor), 10_000); // holding nothing, it leaves
    expect(await readdir(path.join(world.dir, '.local', 'state', 'dbtunnel'))).toEqual([
      expect.stringMatching(/^supervisor-[0-9a-f]{12}\.log$/),
    ]);
  });

  it('two up -d of one database at once: one tunnel, one port, one session', async () => {
    world = await createWorld({ config });
    const args = ['--config', world.configFile, 'up', '-d', 'stg', 'mydb'];
    const [a, b] = await Promise.all([runDbtunnel(args, world.env), runDbtunnel(args, world.env)]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const address = (out: string) => /mydb → (127\.0\.0\.1:\d+) .*\(pid (\d+)\)/.exec(out)!;
    trackPid(Number(address(a.stdout)[2]));
    expect(address(a.stdout)[1]).toBe(address(b.stdout)[1]);
    expect(address(a.stdout)[2]).toBe(address(b.stdout)[2]);
    expect(`${a.stdout}${b.stdout}`).toContain('already up in the background');
    expect(world.emu.callsOf('StartSession')).toHaveLength(1);
    expect(JSON.parse((await runDbtunnel(['ps', '--json'], world.env)).stdout)).toHaveLength(1);
  });

  it('environments and databases whose names join alike are kept apart (a--b c, a b--c)', async () => {
    const db = { host: DB_HOST, port: 3306, localPort: 0 };
    const env = { profile: 'stg', region: 'ap-northeast-1', bastion: 'bastion-db-maintenance' };
    world = await createWorld({
      config: {
        environments: { 'a--b': { ...env, databases: { c: db } }, a: { ...env, databases: { 'b--c': db } } },
      },
    });
    for (const [e, d] of [
      ['a--b', 'c'],
      ['a', 'b--c'],
    ]) {
      const up = await runDbtunnel(['--config', world.configFile, 'up', '-d', e!, d!], world.env);
      expect(up.code, up.stderr).toBe(0);
      trackPid(Number(/pid (\d+)/.exec(up.stdout)![1]));
    }
    const list = JSON.parse((await runDbtunnel(['ps', '--json'], world.env)).stdout) as { env: string; db: string }[];
    expect(list.map((t) => `${t.env} ${t.db}`)).toEqual(['a b--c', 'a--b c']);
    expect((await runDbtunnel(['down', 'a', 'b--c'], world.env)).stdout).toContain('closed a b--c');
    expect(world.emu.activeSessions()).toHaveLength(1);
  });

  it('logs: what a background tunnel reported; -f follows until it closes', async () => {
    world = await createWorld({ config });
    const up = await runDbtunnel(['--config', world.configFile, 'up', '-d', 'stg', 'mydb'], world.env);
    expect(up.code, up.stderr).toBe(0);
    trackPid(Number(/pid (\d+)/.exec(up.stdout)![1]));
    const logs = await runDbtunnel(['logs', 'stg'], world.env);
    expect(logs.code).toBe(0);
    expect(logs.stdout).toMatch(
      /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d {2}stg mydb {2}bastion i-0abc1234def567890 \(ap-northeast-1\)$/m,
    );
    expect(logs.stdout).toMatch(/stg mydb {2}ready on 127\.0\.0\.1:\d+ \(session \S+\)$/m);
    const json = (await runDbtunnel(['logs', 'stg', 'mydb', '--json'], world.env)).stdout.trim().split('\n');
    expect(json.map((l) => (JSON.parse(l) as { event: string }).event)).toEqual(['bastion', 'ready']);
    expect((await runDbtunnel(['logs', 'prod'], world.env)).stderr).toContain('Nothing was logged for prod');

    const follow = startDbtunnel(['logs', 'stg', 'mydb', '-f'], world.env);
    await follow.waitFor(/ready on/);
    const session = world.emu.activeSessions()[0]!.id;
    world.emu.endSession(session); // AWS ends it: the supervisor reconnects, and -f shows it
    await follow.waitFor(/reconnecting in [\d.]+ s \(attempt 1\)/);
    await runDbtunnel(['down', 'stg', 'mydb'], world.env);
    expect((await follow.exited).code).toBe(0);
    expect(follow.stdout()).toMatch(/closed \(SIGTERM\)$/m);
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

  it('a supervisor SIGKILLed: the watchdogs stop its plugins, the next ps says once what was lost, up -d starts anew', async () => {
    world = await createWorld({ config });
    const up = await runDbtunnel(['--config', world.configFile, 'up', '-d', 'stg', 'mydb', 'reportdb'], world.env);
    expect(up.code, up.stderr).toBe(0);
    const pid = Number(/pid (\d+)/.exec(up.stdout)![1]);
    process.kill(pid, 'SIGKILL');
    await eventually(() => !alive(pid));
    const plugins = await world.pluginRecords();
    expect(plugins).toHaveLength(2);
    for (const r of plugins) await eventually(() => !alive(r.pid), 10_000);
    await eventually(() => world!.emu.activeSessions().length === 0, 10_000);
    expect([...world.emu.sessions.values()].map((s) => s.endedBy)).toEqual(['plugin', 'plugin']);

    const ps = await runDbtunnel(['ps'], world.env);
    expect(ps.stderr).toMatch(
      /stg mydb \(127\.0\.0\.1:\d+\) was lost: its background supervisor \(pid \d+\) stopped without closing it/,
    );
    expect(ps.stderr).toContain('stg reportdb');
    expect(ps.stderr).toContain('No tunnels are up in the background');
    const again = await runDbtunnel(['ps'], world.env);
    expect(again.stderr).not.toContain('was lost'); // said once
    // Its socket is left behind, stale: the next up -d replaces it.
    const next = await runDbtunnel(['--config', world.configFile, 'up', '-d', 'stg', 'mydb'], world.env);
    expect(next.code, next.stderr).toBe(0);
    trackPid(Number(/pid (\d+)/.exec(next.stdout)![1]));
    expect(JSON.parse((await runDbtunnel(['ps', '--json'], world.env)).stdout)).toHaveLength(1);
  });

  it('a background directory other users may enter: refused with what to do, nothing started', async () => {
    world = await createWorld({ config });
    const dir = path.join(world.dir, '.local', 'state', 'dbtunnel');
    await mkdir(dir, { recursive: true });
    await chmod(dir, 0o755);
    const up = await runDbtunnel(['--config', world.configFile, 'up', '-d', 'stg', 'mydb'], world.env);
    expect(up.code).toBe(10);
    expect(up.stderr).toContain(`dbtunnel keeps its background supervisor in ${dir}, and other users may use it`);
    expect(up.stderr).toContain(`chmod 700 ${dir}`);
    expect((await runDbtunnel(['ps'], world.env)).code).toBe(10);
    expect(world.emu.callsOf('StartSession')).toHaveLength(0);
    expect(await readdir(dir)).toEqual([]);
  });

  it('up -d that cannot open: the error, its exit code, nothing left in the background', async () => {
    world = await createWorld({ config, scenario: { instances: [] } });
    const up = await runDbtunnel(['--config', world.configFile, 'up', '-d', 'stg', 'mydb'], world.env);
    expect(up.code).toBe(21);
    expect(up.stderr).toContain('No running instance is tagged Name=bastion-db-maintenance');
    expect(JSON.parse((await runDbtunnel(['ps', '--json'], world.env)).stdout)).toEqual([]);
  });
});
