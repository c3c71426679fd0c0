import { strictEqual as nodeStrictEqual, notStrictEqual as nodeNotStrictEqual } from 'node:assert';
import { describe, expect, it } from 'vitest';
import { notStrictEqual, strictEqual } from '../../src/cli/yargs-assert.js';

// What yargs calls in place of node:assert must pass and fail exactly where node:assert does.
const outcome = (check: () => void) => {
  try {
    check();
    return 'pass';
  } catch (e) {
    return `${(e as Error).name} ${(e as { code?: string }).code} ${(e as Error).message.split('\n')[0]}`;
  }
};

describe("yargs' assert stand-in", () => {
  const pairs: [unknown, unknown][] = [
    [1, 1],
    [1, '1'],
    [undefined, undefined],
    [null, undefined],
    [NaN, NaN],
    [0, -0],
    [{}, {}],
  ];

  it('passes and fails on the same values as node:assert (Object.is)', () => {
    for (const [a, b] of pairs) {
      expect(outcome(() => strictEqual(a, b)) === 'pass', `strictEqual(${String(a)}, ${String(b)})`).toBe(
        outcome(() => nodeStrictEqual(a, b)) === 'pass',
      );
      expect(outcome(() => notStrictEqual(a, b)) === 'pass', `notStrictEqual(${String(a)}, ${String(b)})`).toBe(
        outcome(() => nodeNotStrictEqual(a, b)) === 'pass',
      );
    }
  });

  it("throws an AssertionError with node's code and the caller's message, or the caller's own error", () => {
    expect(outcome(() => notStrictEqual(undefined, undefined, 'frozen state missing'))).toBe(
      outcome(() => nodeNotStrictEqual(undefined, undefined, 'frozen state missing')),
    );
    expect(outcome(() => strictEqual(1, 2, 'one is not two'))).toBe('AssertionError ERR_ASSERTION one is not two');
    const own = new TypeError('mine');
    expect(() => strictEqual(1, 2, own)).toThrow(own);
    expect(outcome(() => strictEqual(1, 2))).toMatch(
      /^AssertionError ERR_ASSERTION Expected values to be strictly equal/,
    );
  });
});
