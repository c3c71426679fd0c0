// Soak, bounded (about a minute): 50 open/close cycles and 20 AWS-side session ends, then nothing
// may be left: no process, no open session, no bound port. (Memory over the same soak is the
// benchmark's business, not a test's.)
import { execSync } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { tryBind } from '../../src/tunnel/port.js';
import { alive, eventually, runDbtunnel, startDbtunnel } from '../support/cli.js';
import { roundTrip } from '../support/echo-server.js';
import { createWorld, type World } from '../support/world.js';

let world: World;
beforeAll(async () => {
  world = await createWorld();
});
afterAll(async () => {
  await world.close();
});

async function batches<T>(count: number, size: number, run: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < count; i += size)
    out.push(...(await Promise.all(Array.from({ length: Math.min(size, count - i) }, (_, j) => run(i + j)))));
  return out;
}

it('50 open/close cycles and 20 AWS-side ends leave nothing behind', async () => {
  const ports = new Set<number>();
  // Open/close: half through a `--` command, half held and closed with Ctrl-C.
  const codes = await batches(50, 5, async (i) => {
    if (i % 2 === 0) {
      const r = await runDbtunnel(['--config', world.configFile, 'stg', 'mydb', '--', 'sh', '-c', 'exit 0'], world.env);
      return r.code;
    }
    const t = startDbtunnel(['--config', world.configFile, 'stg', 'mydb'], world.env);
    const m = await t.waitFor(/mydb → 127\.0\.0\.1:(\d+)/);
    ports.add(Number(m[1]));
    expect(await roundTrip(Number(m[1]), `cycle ${i}`)).toBe(`cycle ${i}`);
    t.child.kill('SIGINT');
    return (await t.exited).code;
  });
  expect(codes.every((c) => c === 0)).toBe(true);

  // AWS ends sessions: 10 tunnels, each ended twice and reconnected on its port.
  await batches(10, 5, async () => {
    const t = startDbtunnel(['--config', world.configFile, 'stg', 'mydb', '--reconnect', 'always'], world.env);
    const m = await t.waitFor(/mydb → 127\.0\.0\.1:(\d+)/);
    const port = Number(m[1]);
    ports.add(port);
    for (let end = 0; end < 2; end++) {
      const session = world.emu.activeSessions().find((s) => s.parameters.localPortNumber?.[0] === String(port))!;
      world.emu.endSession(session.id);
      await eventually(
        () =>
          world.emu
            .activeSessions()
            .some((s) => s.parameters.localPortNumber?.[0] === String(port) && s.id !== session.id),
        10_000,
      );
      await eventually(async () => (await roundTrip(port, 'back').catch(() => '')) === 'back', 10_000);
    }
    t.child.kill('SIGINT');
    expect((await t.exited).code).toBe(0);
  });

  const records = await world.pluginRecords();
  expect(records.length).toBeGreaterThanOrEqual(50 + 30);
  await eventually(() => records.every((r) => !alive(r.pid)), 5000);
  const dogs = execSync('pgrep -f dbtunnel-watchdog || true').toString().trim().split('\n').filter(Boolean);
  const ours = dogs.filter((pid) =>
    records.some((r) => execSync(`ps -o args= -p ${pid} || true`).toString().trim().endsWith(` ${r.pid}`)),
  );
  expect(ours).toEqual([]);
  expect(world.emu.activeSessions()).toEqual([]);
  for (const port of ports) expect(await tryBind('127.0.0.1', port)).toBe('free');
  // Every session ended: 10 × 2 by AWS, every other one by its plugin (SIGINT) or by TerminateSession.
  expect([...world.emu.sessions.values()].filter((s) => s.endedBy === 'aws')).toHaveLength(20);
}, 180_000);
