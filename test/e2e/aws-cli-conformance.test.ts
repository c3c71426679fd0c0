// The reference: `aws ssm start-session` (AWS CLI v1, on the machines) against the same emulator
// and fake plugin. dbtunnel must hand the plugin the same thing, argument by argument.
import { spawn } from 'node:child_process';
import { requireProgram, track } from '../support/processes.js';
import { afterEach, expect, it } from 'vitest';
import { startDbtunnel } from '../support/cli.js';
import { eventually } from '../support/cli.js';
import { BASTION_ID, createWorld, DB_HOST, type PluginRecord, type World } from '../support/world.js';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

it('dbtunnel gives session-manager-plugin what `aws ssm start-session` gives it', async () => {
  requireProgram('aws', 'this test compares dbtunnel with the AWS CLI (pip install awscli, or the AWS CLI v2).');
  world = await createWorld({
    config: {
      environments: {
        stg: {
          profile: 'stg',
          region: 'ap-northeast-1',
          bastion: { instanceId: BASTION_ID },
          databases: { mydb: { host: DB_HOST, port: 3306, localPort: 23306 } },
        },
      },
    },
  });
  const params = JSON.stringify({ host: [DB_HOST], portNumber: ['3306'], localPortNumber: ['23306'] });
  const cli = track(
    spawn(
      'aws',
      [
        'ssm',
        'start-session',
        '--target',
        BASTION_ID,
        '--document-name',
        'AWS-StartPortForwardingSessionToRemoteHost',
        '--parameters',
        params,
        '--profile',
        'stg',
        '--region',
        'ap-northeast-1',
      ],
      { env: world.env, stdio: ['ignore', 'pipe', 'pipe'] },
    ),
  );
  let cliOut = '';
  cli.stdout.on('data', (d) => (cliOut += d));
  cli.stderr.on('data', (d) => (cliOut += d));
  const cliExit = new Promise((r) => cli.on('close', r));
  cli.on('error', (e) => (cliOut += `\n(could not run aws: ${e.message})`));
  await eventually(() => /Port 23306 opened/.test(cliOut), 20_000).catch(() => {
    throw new Error(`aws ssm start-session did not open the port:\n${cliOut}`);
  });
  const [fromCli] = await world.pluginRecords();
  process.kill(fromCli!.pid, 'SIGINT');
  await cliExit;

  const t = startDbtunnel(['--config', world.configFile, 'stg', 'mydb'], world.env);
  await t.waitFor(/mydb → /);
  const records = await world.pluginRecords();
  const fromUs = records.find((r) => r.pid !== fromCli!.pid)!;
  t.child.kill('SIGINT');
  await t.exited;

  const meaning = (r: PluginRecord) => ({
    responseArg: r.argv[0],
    region: r.argv[1],
    operation: r.argv[2],
    profile: r.argv[3],
    request: JSON.parse(r.argv[4]!),
    endpoint: r.argv[5],
    argc: r.argv.length,
    responseKeys: Object.keys(JSON.parse(r.env.AWS_SSM_START_SESSION_RESPONSE!)).sort(),
  });
  expect(meaning(fromUs)).toEqual(meaning(fromCli!));
  expect(meaning(fromUs)).toMatchObject({
    responseArg: 'AWS_SSM_START_SESSION_RESPONSE',
    region: 'ap-northeast-1',
    profile: 'stg',
    endpoint: world.emu.url,
  });
  // Each one's response carried its own session.
  const sessions = world.emu.callsOf('StartSession');
  expect(sessions).toHaveLength(2);
  expect(sessions[0]!.input).toEqual(sessions[1]!.input);
});
