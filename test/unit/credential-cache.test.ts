import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { credentialCacheFile, readCachedCredentials, REUSE_MARGIN_MS, writeCachedCredentials } from '../../src/aws/credential-cache.js';

it('keeps credentials until shortly before they expire, one file per profile and config file', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'dbtunnel-cache-'));
  try {
    const env = { XDG_CACHE_HOME: dir, AWS_CONFIG_FILE: '/a/config' };
    const file = credentialCacheFile('prod admin', env, '/home/u');
    expect(path.dirname(file)).toBe(path.join(dir, 'dbtunnel', 'credentials'));
    expect(path.basename(file)).toMatch(/^prod_admin-[0-9a-f]{32}\.json$/);
    expect(credentialCacheFile('prod admin', { ...env, AWS_CONFIG_FILE: '/b/config' }, '/home/u')).not.toBe(file);

    const now = Date.now();
    await writeCachedCredentials(file, { accessKeyId: 'ASIA1', secretAccessKey: 's', sessionToken: 't', expiration: new Date(now + 3600_000) });
    expect(await readCachedCredentials(file, now)).toMatchObject({ accessKeyId: 'ASIA1', sessionToken: 't' });
    expect(await readCachedCredentials(file, now + 3600_000 - REUSE_MARGIN_MS + 1)).toBeUndefined();
    expect(await readCachedCredentials(path.join(dir, 'none.json'), now)).toBeUndefined();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
