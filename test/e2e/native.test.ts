// dbtunnel's own session client (`--session-client native`, `sessionClient:` in the config, and `auto`
// without the plugin) against the emulator's agent, which it meets only on the wire: a signed
// upgrade, the handshake, smux streams, acknowledgements and resends, the destination refusing, and
// every way out ending the session over the data channel.
import { readdirSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually, runDbtunnel, startDbtunnel } from '../support/cli.js';
import { roundTrip } from '../support/echo-server.js';
import { DEV_USER, type EmuPrincipal } from '../support/emulator.js';
import { startProxy } from '../support/network.js';
import { freePort } from '../support/ports.js';
import { trackPid } from '../support/processes.js';
import { BASTION_ID, createWorld, DB_HOST, type World } from '../support/world.js';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

async function open(w: World, extra: string[] = [], env: Record<string, string> = {}) {
  const t = startDbtunnel(['--config', w.configFile, 'stg', 'mydb', ...extra], { ...w.env, ...env });
  const m = await t.waitFor(/mydb → 127\.0\.0\.1:(\d+)/);
  return { t, port: Number(m[1]) };
}

describe('the native session client', () => {
  it('carries bytes both ways through the agent, on 127.0.0.1 and ::1; the upgrade is signed; Ctrl-C ends the session over the channel', async () => {
    world = await createWorld();
    const { t, port } = await open(world, ['--session-client', 'native']);
    expect(await roundTrip(port, 'through the native client')).toBe('through the native client');
    // "localhost" may resolve to ::1 first: the same port answers there too.
    expect(await roundTrip(port, 'over ::1', '::1')).toBe('over ::1');
    expect(await world.pluginRecords()).toEqual([]); // no plugin was started
    const [record] = world.emu.agentRecords;
    expect(record).toMatchObject({ signature: 'valid', principal: 'arn:aws:iam::123456789012:user/dev' });
    expect(record!.openDataChannel).toMatchObject({ MessageSchemaVersion: '1.0', ClientVersion: '1.2.764.0' });
    expect(record!.handshake).toMatchObject({
      ProcessedClientActions: [{ ActionType: 'SessionType', ActionStatus: 1 }],
    });
    t.child.kill('SIGINT');
    expect((await t.exited).code).toBe(0);
    expect(world.emu.agentRecords[0]!.terminatedByFlag).toBe(true);
    expect([...world.emu.sessions.values()][0]).toMatchObject({ status: 'Terminated', endedBy: 'plugin' });
    // The token never leaves through any output.
    const token = [...world.emu.sessions.values()][0]!.token;
    expect(t.stdout() + t.stderr()).not.toContain(token);
  });

  it("sends as AWS's plugin does: messages of at most 1 KiB, one per millisecond or slower", async () => {
    world = await createWorld();
    const { t, port } = await open(world, ['--session-client', 'native']);
    const payload = 'q'.repeat(100 * 1024);
    expect(await roundTrip(port, payload)).toBe(payload);
    const { messages, first, last } = world.emu.agentRecords[0]!.output!;
    // 100 KiB of data, plus the smux headers: more than 100 messages. Unpaced, they would leave within
    // a few milliseconds; paced, the first and the last are at least a millisecond per message apart
    // (less a little, for the clock's whole milliseconds).
    expect(messages).toBeGreaterThan(100);
    expect(last - first).toBeGreaterThanOrEqual((messages - 1) * 0.9);
    t.child.kill('SIGINT');
    expect((await t.exited).code).toBe(0);
  });

  it('more connections than the open-file limit allows: those beyond it are dropped, the tunnel stays', async () => {
    world = await createWorld();
    const args = ['--config', world.configFile, 'stg', 'mydb', '--session-client', 'native'];
    const t = startDbtunnel(args, world.env, { openFiles: 64 });
    const port = Number((await t.waitFor(/mydb → 127\.0\.0\.1:(\d+)/))[1]);
    // Far more than 64 at once: the process runs out of descriptors (Node closes what it cannot accept).
    const held = await Promise.all(
      Array.from(
        { length: 80 },
        () =>
          new Promise<net.Socket>((resolve) => {
            const s = net.connect(port, '127.0.0.1', () => resolve(s));
            s.on('error', () => resolve(s));
          }),
      ),
    );
    const descriptors = () => readdirSync(`/proc/${t.child.pid}/fd`).length;
    await eventually(() => descriptors() >= 60);
    for (const s of held) s.destroy();
    await eventually(() => descriptors() < 40);
    expect(await roundTrip(port, 'after the flood')).toBe('after the flood');
    // The same tunnel, the same session: nothing failed and reconnected meanwhile.
    expect(t.child.exitCode).toBeNull();
    expect(world.emu.callsOf('StartSession')).toHaveLength(1);
    t.child.kill('SIGINT');
    expect((await t.exited).code).toBe(0);
  });

  it('20 connections at once through one tunnel, every byte intact', async () => {
    world = await createWorld();
    const { t, port } = await open(world, ['--session-client', 'native']);
    const payloads = Array.from({ length: 20 }, (_, i) => `${i}:`.padEnd(3000 + i * 97, String.fromCharCode(97 + i)));
    const echoed = await Promise.all(payloads.map((p) => roundTrip(port, p)));
    expect(echoed).toEqual(payloads);
    t.child.kill('SIGINT');
    expect((await t.exited).code).toBe(0);
  });

  it('an agent that ignores messages and sends its own out of order: the client resends and reorders, nothing lost', async () => {
    world = await createWorld({ scenario: { agent: { ignoreEvery: 4, swapPairs: true } } });
    const { t, port } = await open(world, ['--session-client', 'native']);
    const payload = 'x'.repeat(20_000);
    expect(await roundTrip(port, payload)).toBe(payload);
    expect(world.emu.agentRecords[0]!.ignored).toBeGreaterThan(0);
    t.child.kill('SIGINT');
    expect((await t.exited).code).toBe(0);
  });

  it('pause_publication: the client sends nothing until start_publication, then everything, nothing lost', async () => {
    world = await createWorld({ scenario: { agent: { pausePublication: { after: 1, ms: 500 } } } });
    const { t, port } = await open(world, ['--session-client', 'native']);
    // Paused right after the handshake: what the client writes now waits for start_publication.
    const payload = 'p'.repeat(30_000);
    const t0 = Date.now();
    expect(await roundTrip(port, payload)).toBe(payload);
    expect(world.emu.agentRecords[0]!.whilePaused ?? 0).toBe(0);
    expect(Date.now() - t0).toBeGreaterThan(200); // it did wait
    t.child.kill('SIGINT');
    expect((await t.exited).code).toBe(0);
  });

  it('a dropped socket is resumed into the same session (ResumeSession, a new token), nothing lost or doubled', async () => {
    world = await createWorld({ scenario: { agent: { dropSocketAfter: 6 } } });
    const { t, port } = await open(world, ['--session-client', 'native']);
    // About 17 messages of data: the socket drops in the middle of them, with the sixth.
    const payload = Array.from({ length: 2000 }, (_, i) => `line ${i}\n`).join('');
    expect(await roundTrip(port, payload)).toBe(payload);
    expect(world.emu.callsOf('ResumeSession')).toHaveLength(1);
    expect(world.emu.callsOf('StartSession')).toHaveLength(1);
    expect(world.emu.agentRecords.map((r) => [r.signature, r.resumed ?? false])).toEqual([
      ['valid', false],
      ['valid', true],
    ]);
    // The second socket opened with the new token, not the first.
    const tokens = world.emu.agentRecords.map((r) => r.openDataChannel?.TokenValue);
    expect(tokens[0]).not.toBe(tokens[1]);
    t.child.kill('SIGINT');
    expect((await t.exited).code).toBe(0);
    expect(t.stdout() + t.stderr()).not.toContain(String(tokens[1]));
  });

  it('an old agent (3.0.196.0) forwards one connection at a time: basic mode, raw bytes, a second connection waits its turn', async () => {
    const old = [{ id: BASTION_ID, tags: { Name: 'bastion-db-maintenance' }, agentVersion: '3.0.196.0' }];
    world = await createWorld({ scenario: { instances: old } });
    const { t, port } = await open(world, ['--session-client', 'native']);
    expect(await roundTrip(port, 'first, in basic mode')).toBe('first, in basic mode');
    // Two at once: the second is served when the first closes, both intact.
    const big = 'b'.repeat(40_000);
    expect(await Promise.all([roundTrip(port, big), roundTrip(port, 'second')])).toEqual([big, 'second']);
    await eventually(() => (world!.emu.agentRecords[0]!.disconnects ?? 0) >= 3);
    const [record] = world.emu.agentRecords;
    expect(record).toMatchObject({ mode: 'basic', basicDials: 3, disconnects: 3 });
    expect(t.stderr()).not.toMatch(/session-client plugin/);
    t.child.kill('SIGINT');
    expect((await t.exited).code).toBe(0);
    expect(world.emu.agentRecords[0]!.terminatedByFlag).toBe(true);
  });

  it('basic mode, the destination refusing: the agent ends the session and its words are shown', async () => {
    const old = [{ id: BASTION_ID, tags: { Name: 'bastion-db-maintenance' }, agentVersion: '2.3.1644.0' }];
    world = await createWorld({ scenario: { instances: old, agent: { refuseDestination: true } } });
    const t = startDbtunnel(['--config', world.configFile, 'stg', 'mydb', '--session-client', 'native'], world.env);
    const r = await t.exited;
    expect(world.emu.agentRecords[0]!.mode).toBe('basic');
    expect(t.stderr()).toContain('The session for mydb ended: Unable to connect to specified port');
    expect(r.code).toBe(26);
  });

  it('the destination refusing: ConnectToPortError gives the same warning as the plugin, the tunnel stays', async () => {
    world = await createWorld();
    world.emu.scenario.network = { [`${DB_HOST}:3306`]: `127.0.0.1:${await freePort()}` };
    const { t, port } = await open(world, ['--session-client', 'native']);
    const s = net.connect(port, '127.0.0.1', () => s.write('nobody there'));
    s.on('error', () => {});
    await t.waitFor(/The bastion could not connect to [^\n]+:3306 for mydb\./);
    t.child.kill('SIGINT');
    expect((await t.exited).code).toBe(0);
  });

  it('an upgrade not signed with the known keys is refused: the tunnel does not open, the session is terminated', async () => {
    world = await createWorld();
    // The emulator's API takes a known key id whatever the signature; its agent checks the signature.
    const credentials = path.join(world.dir, 'aws-credentials');
    await writeFile(
      credentials,
      (await readFile(credentials, 'utf8')).replaceAll(DEV_USER.secretAccessKey, 'not-the-secret'),
    );
    const t = startDbtunnel(
      ['--config', world.configFile, 'stg', 'mydb', '--session-client', 'native', '--timeout', '5'],
      world.env,
    );
    const r = await t.exited;
    expect(r.code, t.stderr()).toBe(25);
    expect(t.stderr()).toContain('failed to open data channel: HTTP 403');
    expect(world.emu.agentRecords.map((a) => a.signature)).toEqual(['invalid']);
    expect([...world.emu.sessions.values()].every((s) => s.status === 'Terminated')).toBe(true);
  });

  it.each([
    ['a wrong digest', { corruptDigest: true }, 'the payload digest does not match'],
    ['a length beyond the frame', { lieAboutLength: true }, 'a payload of 2147483647 bytes (at most 65536)'],
  ])(
    'a malformed message from the network (%s): a clear error, exit 25, the session terminated',
    async (_n, agent, said) => {
      world = await createWorld({ scenario: { agent } });
      const t = startDbtunnel(['--config', world.configFile, 'stg', 'mydb', '--session-client', 'native'], world.env);
      const r = await t.exited;
      expect(r.code, t.stderr()).toBe(25);
      expect(t.stderr()).toContain(`the data channel sent a malformed message: ${said}`);
      expect(t.stderr()).not.toContain('This is a bug');
      expect([...world.emu.sessions.values()].every((s) => s.status === 'Terminated')).toBe(true);
    },
  );

  it('ssmmessages:OpenDataChannel not allowed: the channel is refused, the tunnel does not open, the session is terminated', async () => {
    const dev: EmuPrincipal = {
      ...DEV_USER,
      policies: [
        { Version: '2012-10-17', Statement: [{ Effect: 'Allow', NotAction: 'ssmmessages:*', Resource: '*' }] },
      ],
    };
    world = await createWorld({ scenario: { principals: [dev] } });
    const t = startDbtunnel(
      ['--config', world.configFile, 'stg', 'mydb', '--session-client', 'native', '--timeout', '5'],
      world.env,
    );
    const r = await t.exited;
    expect(r.code, t.stderr()).toBe(25);
    expect(world.emu.agentRecords[0]!.refused).toMatch(/ssmmessages:OpenDataChannel/);
    expect(t.stderr()).toContain('the data channel closed (1008 access denied)');
    expect(world.emu.callsOf('ResumeSession')).toHaveLength(0); // a refusal is not a drop
    expect([...world.emu.sessions.values()].every((s) => s.status === 'Terminated')).toBe(true);
  });

  it('in the background: the supervisor holds a native tunnel (no plugin process); down ends its session over the channel', async () => {
    world = await createWorld();
    const w = world;
    try {
      const up = await runDbtunnel(
        ['--config', w.configFile, 'up', '-d', 'stg', 'mydb', '--session-client', 'native'],
        w.env,
      );
      expect(up.code, up.stderr).toBe(0);
      for (const pid of up.stdout.matchAll(/\(pid (\d+)\)/g)) trackPid(Number(pid[1]));
      const port = Number(/mydb → 127\.0\.0\.1:(\d+)/.exec(up.stdout)![1]);
      expect(await roundTrip(port, 'held natively')).toBe('held natively');
      expect(await w.pluginRecords()).toEqual([]);
      const down = await runDbtunnel(['down', 'stg', 'mydb'], w.env);
      expect(down.stdout).toMatch(/closed stg mydb/);
      expect(w.emu.agentRecords[0]!.terminatedByFlag).toBe(true);
      expect([...w.emu.sessions.values()][0]).toMatchObject({ status: 'Terminated', endedBy: 'plugin' });
    } finally {
      await runDbtunnel(['down'], w.env);
    }
  });

  it('--dry-run says that dbtunnel would carry the session itself', async () => {
    world = await createWorld();
    const r = await runDbtunnel(
      ['--config', world.configFile, 'stg', 'mydb', '--dry-run', '--session-client', 'native'],
      world.env,
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      '# stg mydb; dbtunnel would carry this session with its own client, the AWS CLI needs session-manager-plugin',
    );
    expect(world.emu.calls).toEqual([]);
  });

  it("through the same proxy as dbtunnel's AWS calls (a CONNECT tunnel for the WebSocket)", async () => {
    world = await createWorld();
    const proxy = await startProxy();
    try {
      const { t, port } = await open(world, ['--session-client', 'native'], { HTTP_PROXY: proxy.url });
      expect(await roundTrip(port, 'via the proxy')).toBe('via the proxy');
      t.child.kill('SIGINT');
      expect((await t.exited).code).toBe(0);
      expect(proxy.connects).toContain(new URL(world.emu.url).host);
    } finally {
      await proxy.close();
    }
  });

  it("auto: without session-manager-plugin on PATH, dbtunnel's own client carries the tunnel, and says so once", async () => {
    world = await createWorld();
    const empty = path.join(world.dir, 'no-plugin');
    await mkdir(empty);
    await writeFile(path.join(empty, '.keep'), '');
    const { t, port } = await open(world, [], { PATH: `${empty}${path.delimiter}${path.dirname(process.execPath)}` });
    expect(await roundTrip(port, 'auto')).toBe('auto');
    expect(t.stderr().match(/session-manager-plugin is not installed: dbtunnel's own session client/g)).toHaveLength(1);
    t.child.kill('SIGINT');
    expect((await t.exited).code).toBe(0);
  });
});
