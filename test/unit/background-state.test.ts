import { describe, expect, it } from 'vitest';
import { logEvents, tunnelState } from '../../src/cli/background.js';

const log = (...events: object[]) => events.map((e) => JSON.stringify(e)).join('\n');

describe('a background tunnel\'s state, from its log', () => {
  it('up on its newest session; reconnecting with the attempt; down between the end and the next attempt', () => {
    const ready = { event: 'ready', env: 'stg', db: 'mydb', sessionId: 'dev-1' };
    const ended = { event: 'ended', env: 'stg', db: 'mydb', sessionId: 'dev-1', cause: 'timed out' };
    expect(tunnelState(logEvents(log({ event: 'bastion' }, ready)))).toEqual({ state: 'up', sessionId: 'dev-1' });
    expect(tunnelState(logEvents(log(ready, ended)))).toEqual({ state: 'down' });
    expect(tunnelState(logEvents(log(ready, ended, { event: 'reconnecting', attempt: 2, delayMs: 2000 })))).toEqual({ state: 'reconnecting', attempt: 2 });
    expect(tunnelState(logEvents(log(ready, ended, { event: 'reconnecting', attempt: 1 }, { ...ready, sessionId: 'dev-2' })))).toEqual({ state: 'up', sessionId: 'dev-2' });
  });

  it('reads past what is not an event: a line cut short while being written, text that is not JSON', () => {
    const text = `${log({ event: 'ready', sessionId: 'dev-1' })}\nsome text\n{"event":"ended","sess`;
    expect(logEvents(text)).toEqual([{ event: 'ready', sessionId: 'dev-1' }]);
  });
});
