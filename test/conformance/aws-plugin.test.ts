// The emulator's agent against AWS's own session-manager-plugin, built from its public source
// (docs/conformance.md): what the native client's tests rely on — the signature check, the handshake,
// acknowledgements and resends, smux and basic mode, ConnectToPortError, resuming — is checked here
// against the reference client, so the two clients meet the same agent. `npm run conformance` runs
// this file only when DBTUNNEL_AWS_PLUGIN names such a build, and says so plainly when it does not.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { eventually, startDbtunnel } from '../support/cli.js';
import { roundTrip } from '../support/echo-server.js';
import { freePort } from '../support/ports.js';
import { BASTION_ID, createWorld, DB_HOST, type World, type WorldOptions } from '../support/world.js';

const built = process.env.DBTUNNEL_AWS_PLUGIN;
if (!built) throw new Error('DBTUNNEL_AWS_PLUGIN is not set: run this file with npm run conformance');
// dbtunnel finds the plugin by its name on PATH.
const dir = mkdtempSync(path.join(os.tmpdir(), 'dbtunnel-aws-plugin-'));
symlinkSync(path.resolve(built), path.join(dir, 'session-manager-plugin'));
const version = execFileSync(built, ['--version'], { encoding: 'utf8' }).trim();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

async function withAwsPlugin(opts: WorldOptions = {}): Promise<World> {
  const w = await createWorld(opts);
  w.env.PATH = `${dir}${path.delimiter}${w.env.PATH}`;
  return w;
}

async function open(w: World, client: 'plugin' | 'native') {
  const t = startDbtunnel(['--config', w.configFile, 'stg', 'mydb', '--session-client', client], w.env);
  const m = await t.waitFor(/mydb → 127\.0\.0\.1:(\d+)/, 15_000);
  return { t, port: Number(m[1]) };
}

const keys = (o: unknown) => Object.keys((o ?? {}) as object).sort();

describe(`AWS's session-manager-plugin ${version} against the emulator's agent`, () => {
  it('accepts its signed upgrade, its OpenDataChannel and handshake, which match the native client’s', async () => {
    world = await withAwsPlugin();
    const aws = await open(world, 'plugin');
    expect(await roundTrip(aws.port, 'through AWS’s plugin')).toBe('through AWS’s plugin');
    aws.t.child.kill('SIGINT');
    expect((await aws.t.exited).code).toBe(0);
    const native = await open(world, 'native');
    expect(await roundTrip(native.port, 'through the native client')).toBe('through the native client');
    native.t.child.kill('SIGINT');
    expect((await native.t.exited).code).toBe(0);

    const [theirs, ours] = world.emu.agentRecords;
    // Ctrl-C: each told the agent with the TerminateSession flag.
    expect([theirs!.terminatedByFlag, ours!.terminatedByFlag]).toEqual([true, true]);
    expect([...world.emu.sessions.values()].map((x) => x.endedBy)).toEqual(['plugin', 'plugin']);
    // The emulator's SigV4 check agrees with the AWS SDK for Go's signer, as it does with ours.
    expect(theirs).toMatchObject({ signature: 'valid', mode: 'mux', principal: ours!.principal });
    expect(ours).toMatchObject({ signature: 'valid', mode: 'mux' });
    expect(keys(ours!.openDataChannel)).toEqual(keys(theirs!.openDataChannel));
    expect(theirs!.openDataChannel).toMatchObject({ MessageSchemaVersion: '1.0', ClientVersion: version });
    expect(keys(ours!.handshake)).toEqual(keys(theirs!.handshake));
    expect(theirs!.handshake).toMatchObject({
      ClientVersion: version,
      ProcessedClientActions: [{ ActionType: 'SessionType', ActionStatus: 1 }],
    });
  });

  it('paces as the emulator expects of it: 1 KiB messages, a millisecond or more apart', async () => {
    world = await withAwsPlugin();
    const { t, port } = await open(world, 'plugin');
    const payload = 'q'.repeat(100 * 1024);
    expect(await roundTrip(port, payload, '127.0.0.1', 15_000)).toBe(payload);
    const { messages, first, last } = world.emu.agentRecords[0]!.output!;
    expect(messages).toBeGreaterThan(100);
    expect(last - first).toBeGreaterThanOrEqual((messages - 1) * 0.9);
    t.child.kill('SIGINT');
    expect((await t.exited).code).toBe(0);
  });

  it('20 connections at once through one tunnel: its smux streams, every byte intact', async () => {
    world = await withAwsPlugin();
    const { t, port } = await open(world, 'plugin');
    const payloads = Array.from({ length: 20 }, (_, i) => `${i}:`.padEnd(3000 + i * 97, String.fromCharCode(97 + i)));
    expect(await Promise.all(payloads.map((p) => roundTrip(port, p)))).toEqual(payloads);
    t.child.kill('SIGINT');
    expect((await t.exited).code).toBe(0);
  });

  it('an agent that ignores some of its messages and sends its own out of order: it resends and reorders', async () => {
    world = await withAwsPlugin({ scenario: { agent: { ignoreEvery: 4, swapPairs: true } } });
    const { t, port } = await open(world, 'plugin');
    const payload = 'x'.repeat(20_000);
    expect(await roundTrip(port, payload, '127.0.0.1', 15_000)).toBe(payload);
    const [record] = world.emu.agentRecords;
    expect(record!.ignored).toBeGreaterThan(0);
    t.child.kill('SIGINT');
    expect((await t.exited).code).toBe(0);
  });

  it('ConnectToPortError: it prints the line dbtunnel reads as the destination failing', async () => {
    world = await withAwsPlugin();
    world.emu.scenario.network = { [`${DB_HOST}:3306`]: `127.0.0.1:${await freePort()}` };
    const { t, port } = await open(world, 'plugin');
    const s = net.connect(port, '127.0.0.1', () => s.write('nobody there'));
    s.on('error', () => {});
    await t.waitFor(/The bastion could not connect to [^\n]+:3306 for mydb\./, 15_000);
    t.child.kill('SIGINT');
    expect((await t.exited).code).toBe(0);
  });

  it('an old agent (3.0.196.0): it speaks basic mode with the emulator, one connection at a time', async () => {
    const old = [{ id: BASTION_ID, tags: { Name: 'bastion-db-maintenance' }, agentVersion: '3.0.196.0' }];
    world = await withAwsPlugin({ scenario: { instances: old } });
    const { t, port } = await open(world, 'plugin');
    expect(await roundTrip(port, 'first, in basic mode')).toBe('first, in basic mode');
    expect(await roundTrip(port, 'second, in basic mode')).toBe('second, in basic mode');
    await eventually(() => (world!.emu.agentRecords[0]!.disconnects ?? 0) >= 2);
    expect(world.emu.agentRecords[0]).toMatchObject({ mode: 'basic', basicDials: 2, disconnects: 2 });
    t.child.kill('SIGINT');
    expect((await t.exited).code).toBe(0);
  });

  it('an agent that keeps smux keepalive on (3.1.1188.0): it sends NOPs, which the emulator hears', async () => {
    const keeps = [{ id: BASTION_ID, tags: { Name: 'bastion-db-maintenance' }, agentVersion: '3.1.1188.0' }];
    world = await withAwsPlugin({ scenario: { instances: keeps } });
    const { t, port } = await open(world, 'plugin');
    expect(await roundTrip(port, 'before')).toBe('before');
    // smux's interval is 10 s, on both sides.
    await eventually(() => (world!.emu.agentRecords[0]!.nops ?? 0) >= 1, 15_000);
    expect(world.emu.agentRecords[0]).toMatchObject({ mode: 'mux', keepAlive: true });
    expect(await roundTrip(port, 'after')).toBe('after');
    t.child.kill('SIGINT');
    expect((await t.exited).code).toBe(0);
  });

  it('a dropped socket: it resumes the session with ResumeSession through the emulator, and carries on', async () => {
    world = await withAwsPlugin();
    const { t, port } = await open(world, 'plugin');
    expect(await roundTrip(port, 'before the drop')).toBe('before the drop');
    // The network drops the socket while nothing is being sent. (A drop in the middle of a transfer
    // stops this plugin's uploads for good: a send that fails is neither kept nor retried, the known
    // "silent death" that 1.2.835.0 fixed. The native client keeps every message: test/e2e/native.test.ts.)
    for (const channel of [...world.emu.sessions.values()][0]!.channels) channel.destroy();
    await eventually(() => world!.emu.agentRecords.some((r) => r.resumed && r.openDataChannel), 15_000);
    expect(await roundTrip(port, 'after the drop', '127.0.0.1', 15_000)).toBe('after the drop');
    expect(world.emu.callsOf('ResumeSession')).toHaveLength(1);
    expect(world.emu.callsOf('StartSession')).toHaveLength(1);
    expect(world.emu.agentRecords.map((r) => [r.signature, r.resumed ?? false])).toEqual([
      ['valid', false],
      ['valid', true],
    ]);
    // The second socket opened with ResumeSession's token, not the first.
    const tokens = world.emu.agentRecords.map((r) => r.openDataChannel?.TokenValue);
    expect(tokens[0]).not.toBe(tokens[1]);
    t.child.kill('SIGINT');
    expect((await t.exited).code).toBe(0);
  });
});
