// `dbtunnel sessions`: a session left open by a plugin that could not tell the agent is found and
// ended.
import { afterEach, expect, it } from 'vitest';
import { alive, eventually, runDbtunnel, startDbtunnel } from '../support/cli.js';
import { trackPid } from '../support/processes.js';
import { createWorld, type World } from '../support/world.js';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

it('lists your own active sessions with target and age; --terminate ends them', async () => {
  world = await createWorld();
  // A plugin that ignores SIGINT, under a dbtunnel killed outright: the session stays open.
  const t = startDbtunnel(['--config', world.configFile, 'stg', 'mydb'], {
    ...world.env,
    FAKE_PLUGIN_IGNORE_SIGINT: '1',
  });
  await t.waitFor(/mydb → /);
  const [plugin] = await world.pluginRecords();
  t.child.kill('SIGKILL');
  await eventually(() => !alive(plugin!.pid), 8000);
  const [left] = world.emu.activeSessions();
  expect(left).toBeDefined();

  const list = await runDbtunnel(['--config', world.configFile, 'sessions', 'stg'], world.env);
  expect(list.code).toBe(0);
  expect(list.stdout).toMatch(
    new RegExp(
      `^SESSION +TARGET +AGE +DOCUMENT\\n${left!.id} +i-0abc1234def567890 +\\d+s +AWS-StartPortForwardingSessionToRemoteHost`,
      'm',
    ),
  );
  const owner = world.emu.callsOf('DescribeSessions')[0]!.input as { Filters: { key: string; value: string }[] };
  expect(owner.Filters).toEqual([{ key: 'Owner', value: 'arn:aws:iam::123456789012:user/dev' }]);

  const end = await runDbtunnel(['--config', world.configFile, 'sessions', 'stg', '--terminate'], world.env);
  expect(end.stdout).toContain(`terminated ${left!.id}`);
  expect(world.emu.activeSessions()).toHaveLength(0);
  expect(
    (await runDbtunnel(['--config', world.configFile, 'sessions', 'stg', '--json'], world.env)).stdout.trim(),
  ).toBe('[]');
});

it('a session a tunnel up in the background holds: shown as held, and left by --terminate', async () => {
  world = await createWorld();
  const up = await runDbtunnel(['--config', world.configFile, 'up', '-d', 'stg', 'mydb'], world.env);
  expect(up.code, up.stderr).toBe(0);
  const pid = Number(/pid (\d+)/.exec(up.stdout)![1]);
  trackPid(pid);
  try {
    const [held] = world.emu.activeSessions();
    const list = await runDbtunnel(['--config', world.configFile, 'sessions', 'stg'], world.env);
    expect(list.stdout).toMatch(
      new RegExp(
        `^SESSION +TARGET +AGE +DOCUMENT +HELD BY\\n${held!.id} +i-0abc1234def567890 +\\d+s +AWS-StartPortForwardingSessionToRemoteHost +stg mydb \\(up -d, pid ${pid}\\)$`,
        'm',
      ),
    );
    const json = JSON.parse(
      (await runDbtunnel(['--config', world.configFile, 'sessions', 'stg', '--json'], world.env)).stdout,
    );
    expect(json).toMatchObject([{ sessionId: held!.id, heldBy: { env: 'stg', db: 'mydb', pid } }]);

    const end = await runDbtunnel(['--config', world.configFile, 'sessions', 'stg', '--terminate'], world.env);
    expect(end.code).toBe(0);
    expect(end.stderr).toContain(
      `left ${held!.id}: the tunnel stg mydb up in the background holds it (dbtunnel down stg mydb closes it)`,
    );
    expect(world.emu.callsOf('TerminateSession')).toHaveLength(0);
    expect(world.emu.activeSessions().map((s) => s.id)).toEqual([held!.id]);
  } finally {
    await runDbtunnel(['down'], world.env);
  }
});
