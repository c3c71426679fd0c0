// The bench times dbtunnel with a C build of the fake plugin (bench/go-like-plugin.c), which starts
// in a few ms as the real Go plugin does. Its numbers stand for dbtunnel with the real plugin only if
// dbtunnel sees the same plugin as in the tests: the same lines, read as the same events, for each
// part of a tunnel's life. Each scenario runs with both plugins and the two accounts must match.
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGoLikePlugin } from './go-like-plugin.js';
import { roundTrip } from '../test/support/echo-server.js';
import { eventually, startDbtunnel } from '../test/support/cli.js';
import { BASTION_ID, createWorld, FAKE_PLUGIN_DIR, type World } from '../test/support/world.js';

let pluginDir: string;
beforeAll(async () => {
  pluginDir = await mkdtemp(path.join(os.tmpdir(), 'dbtunnel-go-like-'));
  const built = buildGoLikePlugin(pluginDir);
  if (!built.ok) throw new Error(`the bench's plugin does not build: ${built.why}`);
});
afterAll(async () => {
  await rm(pluginDir, { recursive: true, force: true });
});

type Scenario = (world: World, port: number, run: ReturnType<typeof startDbtunnel>) => Promise<void>;

/**
 * One tunnel's life with the given plugin first on PATH: what dbtunnel read from the plugin (the
 * events and the lines `--debug` shows, with session ids and the port made generic), how it exited,
 * and what AWS was asked.
 */
async function lifeWith(dir: string, scenario: Scenario, opts: { agentVersion?: string; args?: string[] } = {}) {
  const world = await createWorld(
    opts.agentVersion
      ? {
          scenario: {
            instances: [{ id: BASTION_ID, tags: { Name: 'bastion-db-maintenance' }, agentVersion: opts.agentVersion }],
          },
        }
      : {},
  );
  try {
    const env = { ...world.env, PATH: `${dir}${path.delimiter}${world.env.PATH}` };
    const run = startDbtunnel(['--debug', '--config', world.configFile, 'stg', 'mydb', ...(opts.args ?? [])], env);
    const port = Number((await run.waitFor(/mydb → 127\.0\.0\.1:(\d+)/))[1]);
    const [record] = await world.pluginRecords();
    await scenario(world, port, run);
    const { code } = await run.exited;
    const events = run
      .stderr()
      .split('\n')
      .flatMap((l) => /debug \+\d+ms plugin mydb: (\{.*\})$/.exec(l)?.[1] ?? [])
      .map((e) => JSON.parse(e.replace(/dev-[0-9a-f]+/g, 'SESSION')) as { type: string; port?: number; text?: string })
      .map((e) => (e.port === port ? { ...e, port: 'PORT' } : e));
    // And the lines behind them, word for word.
    const printed = run
      .stderr()
      .split('\n')
      .flatMap((l) => /debug \+\d+ms (plugin mydb printed(?: on stderr)?: .*)$/.exec(l)?.[1] ?? [])
      .map((l) => l.replace(/dev-[0-9a-f]+/g, 'SESSION').replace(new RegExp(`\\b${port}\\b`, 'g'), 'PORT'));
    const plugin = run.stderr().match(/plugin: (\S+) ([\d.]+)/);
    return {
      pluginFile: plugin?.[1],
      account: {
        events,
        printed,
        code,
        pluginVersion: plugin?.[2],
        argvLength: record?.argv.length,
        // The tunnel's own calls: the network check that a failed connection starts (its timing
        // against Ctrl-C is no part of the plugin's contract) is left out.
        calls: world.emu.calls
          .filter(
            (c) =>
              c.service !== 'rds' &&
              !/^Describe(NetworkInterfaces|SecurityGroups|Subnets|NetworkAcls|RouteTables)$/.test(c.action) &&
              !(c.action === 'DescribeInstances' && 'InstanceId.1' in c.input),
          )
          .map((c) => c.action),
        stillActive: world.emu.activeSessions().length,
      },
    };
  } finally {
    await world.close();
  }
}

async function same(scenario: Scenario, opts: { agentVersion?: string; args?: string[] } = {}) {
  const node = await lifeWith(FAKE_PLUGIN_DIR, scenario, opts);
  const c = await lifeWith(pluginDir, scenario, opts);
  expect(node.pluginFile).toBe(path.join(FAKE_PLUGIN_DIR, 'session-manager-plugin'));
  expect(c.pluginFile).toBe(path.join(pluginDir, 'session-manager-plugin'));
  expect(c.account).toEqual(node.account);
  return c.account;
}

const bytesThenCtrlC: Scenario = async (world, port, run) => {
  expect(await roundTrip(port, 'SELECT 1;')).toBe('SELECT 1;');
  await world.db.close(); // the next connection finds no database behind the bastion
  await roundTrip(port, 'x', '127.0.0.1', 1000).catch(() => {});
  await run.waitFor(/could not connect to/);
  run.child.kill('SIGINT');
};

describe("the bench's C plugin, held to the tests' Node fake", () => {
  it('answers --version as the Node fake does', () => {
    const c = spawnSync(path.join(pluginDir, 'session-manager-plugin'), ['--version'], { encoding: 'utf8' });
    const node = spawnSync(path.join(FAKE_PLUGIN_DIR, 'session-manager-plugin'), ['--version'], { encoding: 'utf8' });
    expect(c.status).toBe(0);
    expect(c.stdout).toBe(node.stdout);
  });

  it('a tunnel that carries bytes, meets an unreachable database, and is closed with Ctrl-C', async () => {
    const account = await same(bytesThenCtrlC);
    // What the two agree on is the real thing, not an empty account.
    expect(account.code).toBe(0);
    expect(account.events.map((e) => e.type)).toEqual([
      'starting',
      'ready',
      'connection',
      'connection',
      'destination-failed',
      'ended',
    ]);
    expect(account.calls).toEqual(['DescribeInstances', 'StartSession', 'TerminateSession']);
    expect(account.stillActive).toBe(0);
    expect(account.printed).toContain('plugin mydb printed: Connection accepted for session [SESSION]');
    expect(account.printed).toContain('plugin mydb printed: Waiting for connections...');
  });

  it("the same with an agent older than 3.0.196.0 (the plugin's basic mode, other lines)", async () => {
    const account = await same(bytesThenCtrlC, { agentVersion: '3.0.161.0' });
    expect(account.events.map((e) => e.type)).toContain('destination-failed');
    expect(account.printed).toContain('plugin mydb printed: Connection accepted for session SESSION.');
    expect(account.printed).not.toContain('plugin mydb printed: Waiting for connections...');
  });

  it('AWS ends the session: the same reason reaches dbtunnel, which exits 26', async () => {
    const account = await same(
      async (world) => {
        world.emu.endSession(
          world.emu.activeSessions()[0]!.id,
          'Your session timed out due to inactivity and has been terminated.',
        );
      },
      { args: ['--reconnect', 'never'] },
    );
    expect(account.code).toBe(26);
    expect(account.events.at(-1)).toEqual({
      type: 'ended',
      cause: 'aws',
      text: 'Your session timed out due to inactivity and has been terminated.',
    });
  });

  it('AWS ends the session and dbtunnel reconnects: a new plugin, a new session', async () => {
    const account = await same(
      async (world, port, run) => {
        world.emu.endSession(world.emu.activeSessions()[0]!.id);
        await eventually(() => (run.stdout().match(/✔ mydb → /g) ?? []).length === 2, 15_000);
        expect(await roundTrip(port, 'y')).toBe('y');
        run.child.kill('SIGINT');
      },
      { args: ['--reconnect', 'always'] },
    );
    expect(account.code).toBe(0);
    expect(account.calls.filter((c) => c === 'StartSession')).toHaveLength(2);
  });
});
