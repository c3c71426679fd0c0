import { expect, it } from 'vitest';
import { formatAge, formatTable } from '../../src/cli/table.js';

it('ages and aligned tables', () => {
  const now = Date.parse('2026-01-01T12:00:00Z');
  expect(formatAge(new Date(now - 42_000), now)).toBe('42s');
  expect(formatAge(new Date(now - 7 * 60_000), now)).toBe('7m');
  expect(formatAge(new Date(now - (3 * 3600 + 5 * 60) * 1000), now)).toBe('3h05m');
  expect(formatAge(undefined, now)).toBe('?');
  expect(
    formatTable([
      ['ENV', 'DB'],
      ['stg', 'reportdb'],
    ]),
  ).toEqual(['ENV  DB', 'stg  reportdb']);
});
