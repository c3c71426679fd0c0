import { expect, it } from 'vitest';
import { backoffMs, endCause, shouldReconnect } from '../../src/tunnel/run.js';

it('backs off 1 s, 2 s, 4 s … capped at 30 s', () => {
  expect([1, 2, 3, 4, 5, 6, 7, 12].map(backoffMs)).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
});

it('tells AWS ending a session from a failure', () => {
  expect(
    endCause('Your session timed out due to inactivity and has been terminated.', { code: 0, signal: undefined }),
  ).toBe('aws');
  expect(endCause('Exiting session with sessionId: dev-1.', { code: 0, signal: undefined })).toBe('aws');
  expect(endCause('Session: dev-1 timed out.', { code: 0, signal: undefined })).toBe('failure'); // a resume that failed: the network
  expect(endCause(undefined, { code: 2, signal: undefined })).toBe('failure');
  expect(endCause(undefined, { code: undefined, signal: 'SIGKILL' })).toBe('failure');
});

it('reconnects by mode', () => {
  expect(shouldReconnect('always', 'aws')).toBe(true);
  expect(shouldReconnect('on-failure', 'aws')).toBe(false);
  expect(shouldReconnect('on-failure', 'failure')).toBe(true);
  expect(shouldReconnect('never', 'failure')).toBe(false);
});
