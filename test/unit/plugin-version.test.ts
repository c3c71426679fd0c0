import { describe, expect, it } from 'vitest';
import { TunnelError } from '../../src/errors.js';
import { compareVersions, judgePluginVersion, parseVersion } from '../../src/plugin/version.js';

describe('plugin versions', () => {
  it('parses dotted versions the way the AWS CLI does (whitespace ignored)', () => {
    expect(parseVersion('1.2.707.0\n')).toEqual([1, 2, 707, 0]);
    expect(parseVersion('1.2')).toEqual([1, 2]);
    expect(parseVersion('v1.2.3')).toBeUndefined();
    expect(parseVersion('')).toBeUndefined();
  });

  it('compares with missing parts as 0', () => {
    expect(compareVersions([1, 2], [1, 2, 0, 0])).toBe(0);
    expect(compareVersions([1, 2, 498], [1, 2, 497, 9])).toBe(1);
    expect(compareVersions([1, 10], [1, 9, 999])).toBe(1);
  });

  it.each([
    ['1.2.497.0', 'refuse'],
    ['1.2.0.0', 'refuse'],
    ['0.9', 'refuse'],
    ['not a version', 'refuse'],
    ['1.2.498.0', 'warn'],
    ['1.2.764.0', 'warn'],
    ['1.2.834.9', 'warn'],
    ['1.2.835.0', 'ok'],
    ['1.2.804.0 ', 'warn'],
    ['1.3.0.0', 'ok'],
  ])('%s → %s', (version, verdict) => {
    if (verdict === 'refuse') {
      expect(() => judgePluginVersion(version, false)).toThrowError(TunnelError);
      try {
        judgePluginVersion(version, false);
      } catch (e) {
        expect((e as TunnelError).kind).toBe('pluginTooOld');
        expect((e as TunnelError).hint).toContain('--legacy-plugin');
      }
      const legacy = judgePluginVersion(version, true);
      expect(legacy.form).toBe('legacy');
      expect(legacy.warning).toMatch(/visible in the process list/);
    } else {
      const v = judgePluginVersion(version, false);
      expect(v.form).toBe('env');
      if (verdict === 'warn') expect(v.warning).toMatch(/older than 1\.2\.835\.0/);
      else expect(v.warning).toBeUndefined();
    }
  });

  it('says what 1.2.0.0 means', () => {
    try {
      judgePluginVersion('1.2.0.0', false);
      expect.unreachable();
    } catch (e) {
      expect((e as TunnelError).details.join(' ')).toMatch(/built from source/);
    }
  });
});
