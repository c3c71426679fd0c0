import { describe, expect, it } from 'vitest';
import { isBackgroundCommand, logEvents, tunnelState } from '../../src/cli/background.js';

const log = (...events: object[]) => events.map((e) => JSON.stringify(e)).join('\n');

describe("a background tunnel's state, from its log", () => {
  it('up on its newest session; reconnecting with the attempt; down between the end and the next attempt', () => {
    const ready = { event: 'ready', env: 'stg', db: 'mydb', sessionId: 'dev-1' };
    const ended = { event: 'ended', env: 'stg', db: 'mydb', sessionId: 'dev-1', cause: 'timed out' };
    expect(tunnelState(logEvents(log({ event: 'bastion' }, ready)))).toEqual({ state: 'up', sessionId: 'dev-1' });
    expect(tunnelState(logEvents(log(ready, ended)))).toEqual({ state: 'down' });
    expect(tunnelState(logEvents(log(ready, ended, { event: 'reconnecting', attempt: 2, delayMs: 2000 })))).toEqual({
      state: 'reconnecting',
      attempt: 2,
    });
    expect(
      tunnelState(
        logEvents(log(ready, ended, { event: 'reconnecting', attempt: 1 }, { ...ready, sessionId: 'dev-2' })),
      ),
    ).toEqual({ state: 'up', sessionId: 'dev-2' });
  });

  it('reads past what is not an event: a line cut short while being written, text that is not JSON', () => {
    const text = `${log({ event: 'ready', sessionId: 'dev-1' })}\nsome text\n{"event":"ended","sess`;
    expect(logEvents(text)).toEqual([{ event: 'ready', sessionId: 'dev-1' }]);
  });
});

describe('whose pid an entry holds', () => {
  const entry = { config: '/home/a/proj/dbtunnel.yaml', env: 'stg', db: 'mydb' };
  it('the background dbtunnel it started, and nothing else that has the pid now', () => {
    expect(
      isBackgroundCommand(
        '/usr/bin/node /usr/lib/node_modules/dbtunnel/bin/dbtunnel --config /home/a/proj/dbtunnel.yaml stg mydb --json --timeout 30 --reconnect always --max-reconnects 10 ',
        entry,
      ),
    ).toBe(true);
    expect(
      isBackgroundCommand(
        '/usr/bin/node /usr/lib/node_modules/dbtunnel/bin/dbtunnel --config /home/a/proj/dbtunnel.yaml stg mydb2 --json --timeout 30 ',
        entry,
      ),
    ).toBe(false);
    expect(
      isBackgroundCommand(
        '/usr/bin/node /usr/lib/node_modules/dbtunnel/bin/dbtunnel --config /home/a/other/dbtunnel.yaml stg mydb --json --timeout 30 ',
        entry,
      ),
    ).toBe(false);
    expect(isBackgroundCommand('/usr/lib/firefox/firefox -contentproc ', entry)).toBe(false);
  });
});
