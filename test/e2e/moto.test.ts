// The bastion lookup against moto_server: EC2 answers from moto, Session Manager from our emulator
// (which learns moto's instance ids), so DescribeInstances' filters and XML are checked by a second
// implementation of the EC2 API.
import { CreateTagsCommand, EC2Client, RunInstancesCommand, StopInstancesCommand } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDbtunnel, startDbtunnel } from '../support/cli.js';
import { roundTrip } from '../support/echo-server.js';
import { DEV_USER } from '../support/emulator.js';
import { startMoto, type Moto } from '../support/moto.js';
import { createWorld, type World } from '../support/world.js';

let moto: Moto;
let ec2: EC2Client;
beforeAll(async () => {
  moto = await startMoto();
  ec2 = new EC2Client({
    region: 'ap-northeast-1',
    endpoint: moto.url,
    credentials: { accessKeyId: DEV_USER.accessKeyId, secretAccessKey: DEV_USER.secretAccessKey },
  });
});
afterAll(async () => {
  ec2?.destroy();
  await moto?.close();
});

async function launch(tags: Record<string, string>): Promise<string> {
  const out = await ec2.send(
    new RunInstancesCommand({ ImageId: 'ami-12c6146b', MinCount: 1, MaxCount: 1, InstanceType: 't3.micro' }),
  );
  const id = out.Instances![0]!.InstanceId!;
  await ec2.send(
    new CreateTagsCommand({ Resources: [id], Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }),
  );
  return id;
}

async function worldFor(name: string, ids: string[]): Promise<World> {
  const w = await createWorld({
    config: {
      environments: {
        stg: {
          profile: 'stg',
          region: 'ap-northeast-1',
          bastion: name,
          databases: { mydb: { host: 'mydb.cluster-xxxx.ap-northeast-1.rds.amazonaws.com', port: 3306 } },
        },
      },
    },
  });
  w.emu.scenario.instances = ids.map((id) => ({ id }));
  w.env.AWS_ENDPOINT_URL_EC2 = moto.url;
  return w;
}

describe('bastion lookup against moto_server', () => {
  it('finds the running instance by its Name tag and opens the tunnel through it', async () => {
    const running = await launch({ Name: 'moto-bastion-a', Team: 'db' });
    const stopped = await launch({ Name: 'moto-bastion-a' });
    await ec2.send(new StopInstancesCommand({ InstanceIds: [stopped] }));
    await launch({ Name: 'someone-else' });
    const w = await worldFor('moto-bastion-a', [running, stopped]);
    try {
      const t = startDbtunnel(['--config', w.configFile, 'stg', 'mydb'], w.env);
      const m = await t.waitFor(/mydb → 127\.0\.0\.1:(\d+)/);
      expect(t.stderr()).toContain(`✔ bastion ${running} (moto-bastion-a, ap-northeast-1, profile stg)`);
      expect(w.emu.callsOf('StartSession')[0]!.input.Target).toBe(running);
      expect(await roundTrip(Number(m[1]), 'via moto')).toBe('via moto');
      t.child.kill('SIGINT');
      expect((await t.exited).code).toBe(0);
    } finally {
      await w.close();
    }
  });

  it('says which tagged instances exist but are stopped', async () => {
    const stopped = await launch({ Name: 'moto-bastion-b' });
    await ec2.send(new StopInstancesCommand({ InstanceIds: [stopped] }));
    const w = await worldFor('moto-bastion-b', [stopped]);
    try {
      const r = await runDbtunnel(['--config', w.configFile, 'stg', 'mydb'], w.env);
      expect(r.code).toBe(21);
      expect(r.stderr).toContain(`${stopped} (stopped)`);
    } finally {
      await w.close();
    }
  });

  it('several running: asks Session Manager which is Online', async () => {
    const older = await launch({ Name: 'moto-bastion-c' });
    const newer = await launch({ Name: 'moto-bastion-c' });
    const w = await worldFor('moto-bastion-c', [older, newer]);
    w.emu.scenario.instances = [{ id: older }, { id: newer, ping: 'ConnectionLost' }];
    try {
      const t = startDbtunnel(['--config', w.configFile, 'stg', 'mydb'], w.env);
      await t.waitFor(/mydb → /);
      expect(w.emu.callsOf('StartSession')[0]!.input.Target).toBe(older);
      t.child.kill('SIGINT');
      await t.exited;
    } finally {
      await w.close();
    }
  });
});
