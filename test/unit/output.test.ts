// What leaves the process: secrets redacted, outside control characters visible, colours only ours.
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { jsonText, Terminal } from '../../src/cli/terminal.js';
import { TunnelError } from '../../src/errors.js';
import {
  forgetSecrets,
  redact,
  redactDeep,
  registerSecret,
  registerSecretsOf,
  urlPassword,
} from '../../src/secrets.js';
import { excerpt, visible } from '../../src/text.js';

afterEach(() => forgetSecrets());

describe('secrets', () => {
  it('registered ones are replaced by what they are, wherever they appear', () => {
    registerSecret('tok-1234567890', 'session token');
    registerSecret('short', 'x'); // too short to search for
    expect(redact('a tok-1234567890 b tok-1234567890')).toBe('a (session token) b (session token)');
    expect(redact('short')).toBe('short');
  });

  it('a longer secret that holds a shorter one is replaced whole', () => {
    registerSecret('abcdefgh', 'a');
    registerSecret('abcdefgh-ijklmnop', 'b');
    expect(redact('abcdefgh-ijklmnop')).toBe('(b)');
  });

  it.each([
    ['http://user:p%40ss@proxy:3128', 'http://user:(password)@proxy:3128'],
    [
      '{"SessionId":"s","TokenValue":"AAEAA","StreamUrl":"wss://x"}',
      '{"SessionId":"s","TokenValue":"(session token)","StreamUrl":"wss://x"}',
    ],
    ['"{\\"TokenValue\\":\\"AAEAA\\"}"', '"{\\"TokenValue\\":\\"(session token)\\"}"'],
    ['AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI', 'AWS_SECRET_ACCESS_KEY=(secret)'],
    ['aws_session_token = FwoGZXIvYXdz', 'aws_session_token = (secret)'],
    ['nothing to hide here', 'nothing to hide here'],
  ])('by their shape: %s', (text, shown) => {
    expect(redact(text)).toBe(shown);
  });

  it("those of the environment: exported keys, a proxy URL's password (as typed and decoded)", () => {
    registerSecretsOf({ AWS_SECRET_ACCESS_KEY: 'env-secret-key', https_proxy: 'http://u:p%40ssword@h:1' });
    expect(redact('env-secret-key p@ssword p%40ssword')).toBe('(AWS secret key) (proxy password) (proxy password)');
    expect(urlPassword('http://u@h:1')).toBeUndefined();
  });

  it('in every string of an event', () => {
    registerSecret('tok-1234567890', 'session token');
    expect(redactDeep({ a: ['x tok-1234567890'], b: { c: 'tok-1234567890' }, n: 1 })).toEqual({
      a: ['x (session token)'],
      b: { c: '(session token)' },
      n: 1,
    });
  });
});

describe('text from outside, on a terminal', () => {
  it.each([
    ['\u001b]0;pwn\u0007', '\\x1b]0;pwn\\x07'],
    ['host\u001bc', 'host\\x1bc'],
    ['a\r\nb', 'a\\x0d\nb'],
    ['\u009b31m', '\\x9b31m'],
    ['abc\u202edcba', 'abc\\u202edcba'],
    ['tab\tand é', 'tab\tand é'],
  ])('%j → %s', (text, shown) => {
    expect(visible(text)).toBe(shown);
  });

  it('a long value is an excerpt', () => {
    expect(excerpt('short')).toBe('"short"');
    expect(excerpt('x'.repeat(100), 10)).toBe('"xxxxxxxxxx…" (100 characters)');
  });

  it('JSON text escapes what JSON.stringify leaves raw', () => {
    expect(jsonText({ a: '\u009b\u202e' })).toBe('{"a":"\\u009b\\u202e"}');
  });
});

function terminal(opts: { color?: boolean; mode?: 'human' | 'json' } = {}) {
  const out = new PassThrough();
  const err = new PassThrough();
  let text = '';
  for (const s of [out, err]) s.on('data', (d: Buffer) => (text += d.toString()));
  const term = new Terminal({
    debug: false,
    mode: opts.mode ?? 'human',
    stdout: out as unknown as NodeJS.WriteStream,
    stderr: err as unknown as NodeJS.WriteStream,
    env: opts.color ? { FORCE_COLOR: '1' } : { NO_COLOR: '1' },
  });
  return { term, text: () => text };
}

describe('the terminal writer', () => {
  it('colours only what dbtunnel painted; an escape from outside is shown', () => {
    const { term, text } = terminal({ color: true });
    term.result(`${term.paint('bold', 'mydb')} \u001b[2J\u001b]0;x\u0007`);
    expect(text()).toBe('\u001b[1mmydb\u001b[22m \\x1b[2J\\x1b]0;x\\x07\n');
  });

  it('a forged paint mark from outside is no colour', () => {
    const { term, text } = terminal({ color: true });
    term.result('\u0000deadbeef31\u0000red?');
    expect(text()).toBe('\\x00deadbeef31\\x00red?\n');
  });

  it('no colour codes at all without colour', () => {
    const { term, text } = terminal();
    term.success(term.paint('bold', 'x'));
    expect(text()).toBe('✔ x\n');
  });

  it('errors, events and documents are redacted; events carry no paint marks', () => {
    registerSecret('tok-1234567890', 'session token');
    const human = terminal();
    human.term.error(new TunnelError('startFailed', 'failed', { details: ['It printed: tok-1234567890'] }));
    expect(human.text()).toBe('✖ failed\n  It printed: (session token)\n');
    const json = terminal({ mode: 'json' });
    json.term.warn(`${json.term.paint('bold', 'x')} tok-1234567890`);
    json.term.json({ t: 'tok-1234567890' });
    expect(json.text()).toBe('{"event":"warning","message":"x (session token)"}\n{\n  "t": "(session token)"\n}\n');
  });

  it('shell code is written as it is for a program, and only redacted', () => {
    registerSecret('tok-1234567890', 'session token');
    const { term, text } = terminal();
    term.print("alias a='b\u001bc'\ntok-1234567890\n");
    expect(text()).toBe("alias a='b\u001bc'\n(session token)\n");
  });
});
