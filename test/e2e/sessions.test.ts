// `dbtunnel sessions`: a session left open by a plugin that could not tell the agent is found and
// ended.
import { afterEach, expect, it } from 'vitest';
import { alive, eventually, runDbtunnel, startDbtunnel } from '../support/cli.js';
import { createWorld, type World } from '../support/world.js';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

it('lists your own active sessions with target and age; --terminate ends them', async () => {
  world = await createWorld();
  // A plugin that ignores SIGINT, under a dbtunnel killed outright: the session stays open.
  const t = startDbtunnel(['--config', world.configFile, 'stg', 'mydb'], { ...world.env, FAKE_PLUGIN_IGNORE_SIGINT: '1' });
  await t.waitFor(/mydb → /);
  const [plugin] = await world.pluginRecords();
  t.child.kill('SIGKILL');
  await eventually(() => !alive(plugin!.pid), 8000);
  const [left] = world.emu.activeSessions();
  expect(left).toBeDefined();

  const list = await runDbtunnel(['--config', world.configFile, 'sessions', 'stg'], world.env);
  expect(list.code).toBe(0);
  expect(list.stdout).toMatch(new RegExp(`^SESSION +TARGET +AGE +DOCUMENT\\n${left!.id} +i-0abc1234def567890 +\\d+s +AWS-StartPortForwardingSessionToRemoteHost`, 'm'));
  const owner = world.emu.callsOf('DescribeSessions')[0]!.input as { Filters: { key: string; value: string }[] };
  expect(owner.Filters).toEqual([{ key: 'Owner', value: 'arn:aws:iam::123456789012:user/dev' }]);

  const end = await runDbtunnel(['--config', world.configFile, 'sessions', 'stg', '--terminate'], world.env);
  expect(end.stdout).toContain(`terminated ${left!.id}`);
  expect(world.emu.activeSessions()).toHaveLength(0);
  expect((await runDbtunnel(['--config', world.configFile, 'sessions', 'stg', '--json'], world.env)).stdout.trim()).toBe('[]');
});
