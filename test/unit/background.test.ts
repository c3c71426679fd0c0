// The background supervisor's pure parts, as tables: its messages (both directions, and what is not
// one), a tunnel's state through its events, the files of a directory, the key of an environment,
// the lock, and a log line for people.
import { mkdir, mkdtemp, stat, utimes } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { nextHeld } from '../../src/background/held.js';
import { STALE_MS, withLock } from '../../src/background/lock.js';
import { keysIn, supervisorKey } from '../../src/background/paths.js';
import { decodeReply, decodeRequest, encode, lineReader, MAX_LINE } from '../../src/background/protocol.js';
import { describeRecord } from '../../src/cli/background.js';
import type { OpenTunnel } from '../../src/tunnel/events.js';

const plan = {
  env: 'stg',
  profile: 'stg',
  region: 'eu-west-1',
  bastion: { kind: 'name', name: 'bastion' },
  tunnels: [{ env: 'stg', db: 'mydb', host: 'db.internal', port: 3306 }],
  confirm: false,
};
const up = {
  type: 'up',
  plan,
  config: '/p/dbtunnel.yaml',
  timeoutMs: 30000,
  reconnect: { mode: 'always', maxAttempts: 10 },
};
const tunnel = {
  env: 'stg',
  db: 'mydb',
  host: '127.0.0.1',
  port: 13306,
  sessionId: 's-1',
  config: '/p/dbtunnel.yaml',
  startedAt: '2026-12-02T07:00:00.000Z',
  state: 'up',
  pid: 42,
};

describe('requests, as the supervisor reads them', () => {
  it.each([
    ['an up', JSON.stringify(up), up],
    ['a list', '{"type":"list"}', { type: 'list' }],
    ['a cancel (extra fields dropped)', '{"type":"cancel","pid":1}', { type: 'cancel' }],
    ['a down of all', '{"type":"down"}', { type: 'down', env: undefined, db: undefined }],
    ['a down of one', '{"type":"down","env":"stg","db":"mydb"}', { type: 'down', env: 'stg', db: 'mydb' }],
    [
      'logs, followed only when said so',
      '{"type":"logs","env":"stg","follow":"yes"}',
      { type: 'logs', env: 'stg', db: undefined, follow: false },
    ],
    ['logs -f', '{"type":"logs","env":"stg","follow":true}', { type: 'logs', env: 'stg', db: undefined, follow: true }],
  ])('%s', (_, line, expected) => {
    expect(decodeRequest(line)).toEqual(expected);
  });

  it.each([
    ['not JSON', '{"type":'],
    ['not an object', '["up"]'],
    ['null', 'null'],
    ['an unknown type', '{"type":"exec","command":"rm -rf /"}'],
    ['an up without a plan', JSON.stringify({ ...up, plan: undefined })],
    ['an up whose tunnel has no port', JSON.stringify({ ...up, plan: { ...plan, tunnels: [{ db: 'x', host: 'h' }] } })],
    [
      'an up with an unknown reconnect mode',
      JSON.stringify({ ...up, reconnect: { mode: 'sometimes', maxAttempts: 1 } }),
    ],
    ['a down whose env is not text', '{"type":"down","env":{"$ne":1}}'],
  ])('refused: %s', (_, line) => {
    expect(decodeRequest(line)).toBeUndefined();
  });
});

describe('replies, as a client reads them', () => {
  it.each([
    ['a tunnel', { type: 'tunnel', tunnel, already: true }, { type: 'tunnel', tunnel, already: true }],
    ['a list', { type: 'list', tunnels: [tunnel] }, { type: 'list', tunnels: [tunnel] }],
    [
      'an error, its kind kept',
      { type: 'error', db: 'mydb', error: { kind: 'accessDenied', message: 'no', details: ['a'], hint: 'h' } },
      { type: 'error', db: 'mydb', error: { kind: 'accessDenied', message: 'no', details: ['a'], hint: 'h' } },
    ],
    [
      'an error of a kind dbtunnel does not know: internal',
      { type: 'error', error: { kind: 'sigterm', message: 'no' } },
      { type: 'error', db: undefined, error: { kind: 'internal', message: 'no', details: [], hint: undefined } },
    ],
    ['done', { type: 'done' }, { type: 'done' }],
    ['not-me', { type: 'not-me' }, { type: 'not-me' }],
  ])('%s', (_, message, expected) => {
    expect(decodeReply(encode(message as never).trim())).toEqual(expected);
  });

  it.each([
    ['a list with something not a tunnel', { type: 'list', tunnels: [{ env: 'stg' }] }],
    ['a tunnel whose port is text', { type: 'tunnel', tunnel: { ...tunnel, port: '13306' } }],
    ['a log without a record', { type: 'log', env: 'stg', db: 'mydb', at: 'now' }],
    ['an error without a message', { type: 'error', error: { kind: 'usage' } }],
  ])('refused: %s', (_, message) => {
    expect(decodeReply(JSON.stringify(message))).toBeUndefined();
  });
});

describe('lines of a stream', () => {
  it('split across chunks, blank lines skipped; a line longer than MAX_LINE is refused', () => {
    const lines: string[] = [];
    let tooLong = 0;
    const feed = lineReader(
      (l) => lines.push(l),
      () => tooLong++,
    );
    feed('{"a":');
    feed('1}\n\n{"b":2}\n{"c"');
    expect(lines).toEqual(['{"a":1}', '{"b":2}']);
    feed('x'.repeat(MAX_LINE + 1));
    expect(tooLong).toBe(1);
    feed('{"d":4}\n');
    expect(lines.at(-1)).toBe('{"d":4}');
  });
});

describe("a tunnel's state through its run", () => {
  const open: OpenTunnel = {
    env: 'stg',
    db: 'mydb',
    host: 'db.internal',
    port: 3306,
    localPort: 13306,
    address: '127.0.0.1',
    sessionId: 's-1',
    target: 'i-0abc',
  };
  const by = { config: '/p/dbtunnel.yaml', pid: 42, now: () => new Date('2026-12-02T07:00:00Z') };
  it('up on its newest session, down once ended, reconnecting with the attempt; its age kept', () => {
    let t = nextHeld(undefined, { type: 'warning', message: 'w' }, by);
    expect(t).toBeUndefined();
    t = nextHeld(t, { type: 'ready', tunnel: open, url: undefined }, by);
    expect(t).toEqual(tunnel);
    t = nextHeld(t, { type: 'ended', tunnel: open, text: 'timed out', cause: 'aws' }, by);
    expect(t?.state).toBe('down');
    t = nextHeld(t, { type: 'reconnecting', tunnel: open, attempt: 2, delayMs: 2000 }, by);
    expect(t).toMatchObject({ state: 'reconnecting', attempt: 2 });
    const later = { ...by, now: () => new Date('2026-12-02T08:00:00Z') };
    t = nextHeld(t, { type: 'ready', tunnel: { ...open, sessionId: 's-2' }, url: undefined }, later);
    expect(t).toEqual({ ...tunnel, sessionId: 's-2' });
  });
});

describe('the files of a background directory', () => {
  it.each([
    [['supervisor-0123456789ab.sock', 'supervisor-0123456789ab.held.json'], ['0123456789ab']],
    [
      ['supervisor-aaaaaaaaaaaa.lost.json', 'supervisor-bbbbbbbbbbbb.sock'],
      ['aaaaaaaaaaaa', 'bbbbbbbbbbbb'],
    ],
    [['supervisor-0123456789ab.log', '.supervisor-0123456789ab-99.sock', 'supervisor-XYZ.sock', 'stg--mydb.json'], []],
  ])('%j → %j', (names, keys) => {
    expect(keysIn(names)).toEqual(keys);
  });
});

describe('the supervisor of an environment', () => {
  const base = { AWS_PROFILE: 'stg', PATH: '/usr/bin', HOME: '/home/a', TERM: 'xterm' };
  it.each([
    ['a variable the SDK does not read: the same', { ...base, TERM: 'dumb', PWD: '/tmp' }, true],
    ['another AWS profile: another', { ...base, AWS_PROFILE: 'prod' }, false],
    ['an endpoint: another', { ...base, AWS_ENDPOINT_URL_SSM: 'http://127.0.0.1:1' }, false],
    ['a proxy: another', { ...base, HTTPS_PROXY: 'http://proxy:3128' }, false],
    ['another PATH (another plugin): another', { ...base, PATH: '/opt/bin:/usr/bin' }, false],
  ])('%s', (_, env, same) => {
    expect(supervisorKey(env, 'dist@1') === supervisorKey(base, 'dist@1')).toBe(same);
  });
  it('another install or version: another', () => {
    expect(supervisorKey(base, 'dist@1')).not.toBe(supervisorKey(base, 'dist@2'));
  });
});

describe('the lock', () => {
  it('one holder at a time; a lock left by a process that died is taken over', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'dbtunnel-lock-'));
    const lock = path.join(dir, 'x.lock');
    const order: string[] = [];
    const hold = (name: string) =>
      withLock(lock, async () => {
        order.push(`${name} in`);
        await new Promise((r) => setTimeout(r, 30));
        order.push(`${name} out`);
      });
    await Promise.all([hold('a'), hold('b')]);
    expect(order).toEqual(['a in', 'a out', 'b in', 'b out']);
    await expect(stat(lock)).rejects.toThrow();

    await mkdir(lock);
    const old = new Date(Date.now() - STALE_MS - 1000);
    await utimes(lock, old, old);
    expect(await withLock(lock, async () => 'taken')).toBe('taken');
  });
});

describe('a log line for people', () => {
  it.each([
    [{ event: 'ready', host: '127.0.0.1', port: 13306, sessionId: 's-1' }, 'ready on 127.0.0.1:13306 (session s-1)'],
    [{ event: 'ready', host: '::1', port: 13306, sessionId: 's-1' }, 'ready on [::1]:13306 (session s-1)'],
    [{ event: 'ended', sessionId: 's-1', cause: 'timed out' }, 'session s-1 ended: timed out'],
    [{ event: 'reconnecting', attempt: 2, delayMs: 2000 }, 'reconnecting in 2 s (attempt 2)'],
    [{ event: 'error', message: 'Denied.', hint: 'Add it.' }, 'error: Denied. (Add it.)'],
    [{ event: 'closed', reason: 'SIGTERM' }, 'closed (SIGTERM)'],
    [{ event: 'bastion', instanceId: 'i-0abc', region: 'eu-west-1' }, 'bastion i-0abc (eu-west-1)'],
    [{ event: 'warning', message: { not: 'text' } }, 'warning: '],
    [
      {
        event: 'path',
        verdict: 'blocked',
        blocking: { step: 'route back', why: 'No route in rtb-2 covers 10.0.1.10.', fix: ['aws', 'ec2', 'x', "it's"] },
      },
      "path blocked at the route back: No route in rtb-2 covers 10.0.1.10. Fix: aws ec2 x 'it'\\''s'",
    ],
    [
      { event: 'path', verdict: 'blocked', blocking: { step: 'database', why: 'Wrong port.', advice: 'Set it.' } },
      'path blocked at the database: Wrong port. Fix: Set it.',
    ],
    [{ event: 'path', verdict: 'open', blocking: null }, 'path: no hop blocked; the database itself may be refusing'],
    [{ event: 'path', verdict: 'unknown', error: 'Denied.' }, 'could not look at the path: Denied.'],
    [{ event: 'path', verdict: 'blocked', blocking: { step: 7, fix: [1] } }, 'path blocked at the 7: '],
  ])('%j', (record, line) => {
    expect(describeRecord(record)).toBe(line);
  });
});
