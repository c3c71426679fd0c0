import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { agentForWebSocket, endpointFor, networkFor } from '../../src/aws/network.js';

it("knows each client's endpoint for the proxy decision", () => {
  expect(endpointFor('ssm', 'ap-northeast-1', {})).toBe('https://ssm.ap-northeast-1.amazonaws.com');
  expect(endpointFor('ec2', 'cn-north-1', {})).toBe('https://ec2.cn-north-1.amazonaws.com.cn');
  expect(endpointFor('iam', 'eu-west-1', {})).toBe('https://iam.amazonaws.com');
  expect(endpointFor('ssm', 'eu-west-1', { AWS_ENDPOINT_URL: 'http://a', AWS_ENDPOINT_URL_SSM: 'http://b' })).toBe(
    'http://b',
  );
  expect(endpointFor('ec2', 'eu-west-1', { AWS_ENDPOINT_URL: 'http://a' })).toBe('http://a');
});

it('gives a client a proxy agent only when its endpoint goes through a proxy', async () => {
  const saved = { ...process.env };
  try {
    for (const k of Object.keys(process.env)) if (/_proxy$/i.test(k)) delete process.env[k];
    const env = { AWS_ENDPOINT_URL_EC2: 'http://127.0.0.1:9' };
    expect(await (await networkFor(env))('ssm', 'eu-west-1')).toBeUndefined();
    process.env.HTTPS_PROXY = 'http://proxy.example:3128';
    process.env.HTTP_PROXY = 'http://proxy.example:3128';
    process.env.NO_PROXY = '127.0.0.1';
    const ssm = await (await networkFor(env))('ssm', 'eu-west-1');
    expect(ssm?.httpsAgent?.constructor.name).toBe('HttpsProxyAgent');
    expect(await (await networkFor(env))('ec2', 'eu-west-1')).toBeUndefined(); // NO_PROXY
    delete process.env.NO_PROXY;
    expect((await (await networkFor(env))('ec2', 'eu-west-1'))?.httpAgent?.constructor.name).toBe('HttpProxyAgent');
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
});

it("the data channel's WebSocket: AWS_CA_BUNDLE's agent for wss:// only, a local ws:// keeps the plain one", async () => {
  const saved = { ...process.env };
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dbtunnel-ca-'));
  try {
    for (const k of Object.keys(process.env)) if (/_proxy$/i.test(k)) delete process.env[k];
    const bundle = path.join(dir, 'ca.pem');
    writeFileSync(bundle, '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n');
    const env = { AWS_CA_BUNDLE: bundle };
    const wss = await agentForWebSocket('wss://ssmmessages.eu-west-1.amazonaws.com/v1/data-channel/s', env);
    expect(wss?.constructor.name).toBe('Agent');
    expect((wss as unknown as { options: { ca?: Buffer } }).options.ca?.toString()).toContain('BEGIN CERTIFICATE');
    expect(await agentForWebSocket('ws://127.0.0.1:9/v1/data-channel/s', env)).toBeUndefined();
    expect(await agentForWebSocket('wss://ssmmessages.eu-west-1.amazonaws.com/v1/data-channel/s', {})).toBeUndefined();
  } finally {
    rmSync(dir, { recursive: true, force: true });
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
});
