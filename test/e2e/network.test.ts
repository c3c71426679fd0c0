// Corporate networks: HTTPS_PROXY/HTTP_PROXY/NO_PROXY and AWS_CA_BUNDLE honoured by dbtunnel's own
// AWS calls, and passed through to the plugin.
import { afterEach, describe, expect, it } from 'vitest';
import { runDbtunnel, startDbtunnel } from '../support/cli.js';
import { roundTrip } from '../support/echo-server.js';
import { startProxy, startTlsFront, type Proxy as ProxyServer, type TlsFront } from '../support/network.js';
import { createWorld, type World } from '../support/world.js';

let world: World | undefined;
let proxy: ProxyServer | undefined;
let front: TlsFront | undefined;
afterEach(async () => {
  await world?.close();
  await proxy?.close();
  await front?.close();
  world = proxy = front = undefined;
});

async function open(env: Record<string, string>) {
  const t = startDbtunnel(['--config', world!.configFile, 'stg', 'mydb'], { ...world!.env, ...env });
  const m = await t.waitFor(/mydb → 127\.0\.0\.1:(\d+)/);
  expect(await roundTrip(Number(m[1]), 'through the office')).toBe('through the office');
  t.child.kill('SIGINT');
  expect((await t.exited).code).toBe(0);
}

describe('corporate networks', () => {
  it('HTTP_PROXY carries every AWS call; the plugin gets the same variables', async () => {
    world = await createWorld();
    proxy = await startProxy();
    await open({ HTTP_PROXY: proxy.url, HTTPS_PROXY: proxy.url });
    const emulator = new URL(world.emu.url).host;
    expect(proxy.seen.filter((h) => h === emulator).length).toBeGreaterThanOrEqual(3); // lookup, StartSession, TerminateSession
    const [rec] = await world.pluginRecords();
    expect(rec!.env).toMatchObject({ HTTP_PROXY: proxy.url, HTTPS_PROXY: proxy.url });
  });

  it('NO_PROXY keeps a host off the proxy', async () => {
    world = await createWorld();
    proxy = await startProxy();
    await open({ HTTP_PROXY: proxy.url, NO_PROXY: '127.0.0.1' });
    expect(proxy.seen).toEqual([]);
  });

  it('AWS_CA_BUNDLE: AWS behind a private certificate authority', async () => {
    world = await createWorld();
    front = await startTlsFront(Number(new URL(world.emu.url).port));
    const https = { AWS_ENDPOINT_URL_EC2: front.url, AWS_ENDPOINT_URL_SSM: front.url, AWS_ENDPOINT_URL_STS: front.url };
    const refused = await runDbtunnel(['--config', world.configFile, 'stg', 'mydb'], { ...world.env, ...https });
    expect(refused.code).toBe(24);
    await open({ ...https, AWS_CA_BUNDLE: front.caFile });
    const [rec] = await world.pluginRecords();
    expect(rec!.argv[5]).toBe(front.url); // the endpoint the SDK really used
    expect(rec!.env.AWS_CA_BUNDLE).toBe(front.caFile);
  });

  it('AWS_CA_BUNDLE naming a file that is not there: a config error', async () => {
    world = await createWorld();
    const r = await runDbtunnel(['--config', world.configFile, 'stg', 'mydb'], {
      ...world.env,
      AWS_CA_BUNDLE: '/nonexistent/ca.pem',
    });
    expect(r.code).toBe(10);
    expect(r.stderr).toContain('AWS_CA_BUNDLE names /nonexistent/ca.pem, which does not exist.');
  });
});
