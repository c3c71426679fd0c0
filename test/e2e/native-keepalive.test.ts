// smux keepalive, which agents up to 3.1.1511.0 expect: the native client in this process (so that
// its NOP interval can be short) against the emulator's agent over HTTP and its WebSocket. An agent
// that keeps keepalive on closes a session that has sent it no frame for three intervals.
import { SSMClient, StartSessionCommand } from '@aws-sdk/client-ssm';
import { afterEach, describe, expect, it } from 'vitest';
import { startNativeSession } from '../../src/native/session.js';
import type { SessionEvent } from '../../src/session-client.js';
import { roundTrip } from '../support/echo-server.js';
import { DEV_USER } from '../support/emulator.js';
import { BASTION_ID, createWorld, DB_HOST, type World } from '../support/world.js';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const credentials = { accessKeyId: DEV_USER.accessKeyId, secretAccessKey: DEV_USER.secretAccessKey };
const INTERVAL = 100;

async function nativeTunnel(w: World, keepAliveMs: number | undefined) {
  const ssm = new SSMClient({ region: 'ap-northeast-1', endpoint: w.emu.url, credentials });
  const response = await ssm.send(
    new StartSessionCommand({
      Target: BASTION_ID,
      DocumentName: 'AWS-StartPortForwardingSessionToRemoteHost',
      Parameters: { host: [DB_HOST], portNumber: ['3306'], localPortNumber: ['0'] },
    }),
  );
  const events: SessionEvent[] = [];
  let ready!: (port: number) => void;
  const port = new Promise<number>((resolve) => {
    ready = resolve;
  });
  const session = startNativeSession({
    response: { SessionId: response.SessionId!, TokenValue: response.TokenValue!, StreamUrl: response.StreamUrl! },
    region: 'ap-northeast-1',
    credentials: async () => credentials,
    localPort: 0,
    onEvent: (e) => {
      events.push(e);
      if (e.type === 'ready') ready(e.port);
    },
    debug: () => {},
    ...(keepAliveMs === undefined ? {} : { smuxKeepAliveMs: keepAliveMs }),
  });
  return { session, events, port: await port };
}

const agentOf = (version: string) => [
  { id: BASTION_ID, tags: { Name: 'bastion-db-maintenance' }, agentVersion: version },
];
const quiet = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('smux keepalive with agents that keep it on', () => {
  it('agent 3.1.1188.0 (the first to forward to another host): NOPs keep an idle tunnel open', async () => {
    world = await createWorld({
      scenario: { instances: agentOf('3.1.1188.0'), agent: { smuxKeepAliveMs: INTERVAL } },
    });
    const { session, events, port } = await nativeTunnel(world, INTERVAL / 2);
    await quiet(INTERVAL * 8); // idle well past the agent's three intervals
    expect(await roundTrip(port, 'still here')).toBe('still here');
    const [record] = world.emu.agentRecords;
    expect(record).toMatchObject({ keepAlive: true });
    expect(record!.keepAliveTimedOut).toBeUndefined();
    expect(record!.nops).toBeGreaterThanOrEqual(4);
    expect(events.some((e) => e.type === 'ended')).toBe(false);
    await session.stop();
  });

  it('without NOPs, that agent ends the idle session (what the NOPs prevent)', async () => {
    world = await createWorld({
      scenario: { instances: agentOf('3.1.1188.0'), agent: { smuxKeepAliveMs: INTERVAL } },
    });
    // The client's NOPs every 10 s: far too rare for this agent's 100 ms interval.
    const { session, events } = await nativeTunnel(world, undefined);
    await session.exited;
    expect(world.emu.agentRecords[0]!.keepAliveTimedOut).toBe(true);
    expect(events.at(-1)).toMatchObject({ type: 'ended', cause: 'aws', text: expect.stringMatching(/timed out/) });
  });

  it('a current agent (3.3.1142.0) has keepalive off for this client: no NOPs are sent', async () => {
    world = await createWorld({ scenario: { agent: { smuxKeepAliveMs: INTERVAL } } });
    const { session, port } = await nativeTunnel(world, INTERVAL / 2);
    await quiet(INTERVAL * 5);
    expect(await roundTrip(port, 'no keepalive')).toBe('no keepalive');
    expect(world.emu.agentRecords[0]).not.toHaveProperty('keepAlive');
    expect(world.emu.agentRecords[0]!.nops).toBeUndefined();
    await session.stop();
  });
});
