// Temporary credentials of a named profile (assume-role, MFA, SSO role credentials) kept between
// runs until shortly before they expire, in a 0600 file under the XDG cache directory — as the AWS
// CLI keeps its own — so that an MFA code is asked once per role session, not once per run.
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { xdgBase } from '../xdg.js';

export interface CachedCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
  expiration: Date;
}

/** Credentials this close to expiring are not worth reusing (the SDK refreshes at 5 minutes too). */
export const REUSE_MARGIN_MS = 5 * 60 * 1000;

export function credentialCacheDir(env: NodeJS.ProcessEnv = process.env, home = os.homedir()): string {
  return path.join(xdgBase('cache', env, home), 'dbtunnel', 'credentials');
}

/** One file per profile and AWS config file (the same name may mean another profile elsewhere). */
export function credentialCacheFile(profile: string, env: NodeJS.ProcessEnv = process.env, home = os.homedir()): string {
  const configFile = env.AWS_CONFIG_FILE ?? path.join(home, '.aws', 'config');
  const key = createHash('sha256').update(`${configFile}\0${profile}`).digest('hex').slice(0, 32);
  return path.join(credentialCacheDir(env, home), `${profile.replace(/[^A-Za-z0-9_.-]/g, '_')}-${key}.json`);
}

export async function readCachedCredentials(file: string, now = Date.now()): Promise<CachedCredentials | undefined> {
  try {
    const raw = JSON.parse(await readFile(file, 'utf8')) as { accessKeyId: string; secretAccessKey: string; sessionToken?: string; expiration: string };
    const expiration = new Date(raw.expiration);
    if (!raw.accessKeyId || !raw.secretAccessKey || !(expiration.getTime() - now > REUSE_MARGIN_MS)) return undefined;
    return { accessKeyId: raw.accessKeyId, secretAccessKey: raw.secretAccessKey, sessionToken: raw.sessionToken, expiration };
  } catch {
    return undefined;
  }
}

export async function writeCachedCredentials(file: string, c: CachedCredentials): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const body = JSON.stringify({ accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, sessionToken: c.sessionToken, expiration: c.expiration.toISOString() });
  await rm(file, { force: true }); // a new file, so that its mode is ours
  await writeFile(file, body, { mode: 0o600, flag: 'wx' });
}

/** `dbtunnel logout`: forget one profile's cached credentials, or all. How many profiles' were kept. */
export async function clearCachedCredentials(profile?: string): Promise<number> {
  const dir = credentialCacheDir();
  const files = await readdir(dir).catch(() => [] as string[]);
  const kept = profile ? files.filter((f) => path.join(dir, f) === credentialCacheFile(profile)).length : files.filter((f) => f.endsWith('.json')).length;
  await rm(profile ? credentialCacheFile(profile) : dir, { recursive: true, force: true });
  return kept;
}
