import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  clearCachedCredentials,
  credentialCacheFile,
  profileChain,
  readCachedCredentials,
  REUSE_MARGIN_MS,
  writeCachedCredentials,
  type Profiles,
} from '../../src/aws/credential-cache.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'dbtunnel-cache-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const PROFILES: Profiles = {
  base: { aws_access_key_id: 'AKIA1', aws_secret_access_key: 'not part of any key', region: 'eu-west-1' },
  role: {
    role_arn: 'arn:aws:iam::1:role/a',
    source_profile: 'base',
    mfa_serial: 'arn:aws:iam::1:mfa/me',
    region: 'eu-west-1',
  },
  loop: { role_arn: 'arn:aws:iam::1:role/a', source_profile: 'loop' },
  sso: { sso_session: 'corp', sso_account_id: '1', sso_role_name: 'Dev' },
  'sso-session corp': { sso_start_url: 'https://corp.awsapps.com/start', sso_region: 'eu-west-1' },
};

describe('what kept credentials depend on: the profile chain', () => {
  it('follows source_profile, and keeps no secret', () => {
    expect(profileChain(PROFILES, 'role')).toEqual([
      {
        profile: 'role',
        role_arn: 'arn:aws:iam::1:role/a',
        source_profile: 'base',
        mfa_serial: 'arn:aws:iam::1:mfa/me',
        region: 'eu-west-1',
      },
      { profile: 'base', aws_access_key_id: 'AKIA1', region: 'eu-west-1' },
    ]);
    expect(JSON.stringify(profileChain(PROFILES, 'role'))).not.toContain('not part of any key');
  });

  it('ends at a loop or a missing profile', () => {
    expect(profileChain(PROFILES, 'loop')).toHaveLength(1);
    expect(profileChain(PROFILES, 'nope')).toEqual([]);
  });

  it('includes the SSO session a profile names', () => {
    expect(profileChain(PROFILES, 'sso')[0]).toMatchObject({
      sso_start_url: 'https://corp.awsapps.com/start',
      sso_region: 'eu-west-1',
    });
  });

  it.each([
    ['role_arn', { ...PROFILES, role: { ...PROFILES.role, role_arn: 'arn:aws:iam::2:role/a' } }],
    ['external_id', { ...PROFILES, role: { ...PROFILES.role, external_id: 'x' } }],
    ['mfa_serial', { ...PROFILES, role: { ...PROFILES.role, mfa_serial: 'arn:aws:iam::1:mfa/other' } }],
    ['duration_seconds', { ...PROFILES, role: { ...PROFILES.role, duration_seconds: '900' } }],
    ['region', { ...PROFILES, role: { ...PROFILES.role, region: 'us-east-1' } }],
    ["the source profile's keys", { ...PROFILES, base: { ...PROFILES.base, aws_access_key_id: 'AKIA2' } }],
  ])('a changed %s is another file', (_what, changed) => {
    const before = credentialCacheFile('role', profileChain(PROFILES, 'role'), dir);
    expect(credentialCacheFile('role', profileChain(changed as Profiles, 'role'), dir)).not.toBe(before);
  });
});

describe('kept credentials', () => {
  it('are kept (0600, in a private directory) until shortly before they expire', async () => {
    const file = credentialCacheFile('prod admin', profileChain(PROFILES, 'role'), path.join(dir, 'credentials'));
    expect(path.basename(file)).toMatch(/^prod_admin-[0-9a-f]{32}\.json$/);
    const now = Date.now();
    await writeCachedCredentials(file, {
      profile: 'prod admin',
      accessKeyId: 'ASIA1',
      secretAccessKey: 's',
      sessionToken: 't',
      expiration: new Date(now + 3600_000),
    });
    expect(await readCachedCredentials(file, now)).toMatchObject({ accessKeyId: 'ASIA1', sessionToken: 't' });
    expect(await readCachedCredentials(file, now + 3600_000 - REUSE_MARGIN_MS + 1)).toBeUndefined();
    expect(await readCachedCredentials(path.join(dir, 'none.json'), now)).toBeUndefined();
    // A directory others may use is not read from (nor written to).
    await chmod(path.dirname(file), 0o755);
    expect(await readCachedCredentials(file, now)).toBeUndefined();
    await expect(
      writeCachedCredentials(file, {
        profile: 'p',
        accessKeyId: 'A',
        secretAccessKey: 's',
        expiration: new Date(now + 3600_000),
      }),
    ).rejects.toThrow(/other users may use it \(mode 0755; it must be 0700\)/);
  });

  it('a kept file that is not what dbtunnel wrote is not believed', async () => {
    const file = path.join(dir, 'p-0123456789abcdef0123456789abcdef.json');
    for (const text of [
      '{"accessKeyId":["x"],"secretAccessKey":"s","expiration":"2999-01-01"}',
      '{"accessKeyId":"x"}',
      'null',
      '[',
    ]) {
      await writeFile(file, text);
      expect(await readCachedCredentials(file)).toBeUndefined();
    }
  });

  it("logout forgets a profile's files under every chain, and no other profile's", async () => {
    const later = new Date(Date.now() + 3600_000);
    const keep = (profile: string, chain: Profiles) =>
      writeCachedCredentials(credentialCacheFile(profile, profileChain(chain, 'role'), dir), {
        profile,
        accessKeyId: 'A',
        secretAccessKey: 's',
        expiration: later,
      });
    await keep('a.b', PROFILES);
    await keep('a.b', { ...PROFILES, role: { ...PROFILES.role, role_arn: 'arn:aws:iam::2:role/b' } });
    await keep('a_b', PROFILES); // the same name in the file name
    expect(await clearCachedCredentials('a.b', dir)).toBe(2);
    expect(await clearCachedCredentials(undefined, dir)).toBe(1);
  });
});
