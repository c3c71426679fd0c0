// Temporary credentials of a named profile (assume-role, MFA, SSO role credentials) kept between
// runs until shortly before they expire, in a 0600 file under the XDG cache directory — as the AWS
// CLI keeps its own — so that an MFA code is asked once per role session, not once per run.
//
// A kept file is found by what the credentials depend on: the profile's chain as the AWS config
// files define it now (role_arn, source_profile, external_id, mfa_serial, duration, region, SSO
// settings… of the profile and of each profile it takes credentials from). Point role_arn at another
// role and the old keys are simply not found: a fresh AssumeRole happens.
import { createHash } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { KiB, readBoundedFile } from '../files.js';
import { ensurePrivateDir, readablePrivateDir, writePrivateFile } from '../private-dir.js';
import { xdgBase } from '../xdg.js';

export interface CachedCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
  expiration: Date;
}

/** Credentials this close to expiring are not worth reusing (the SDK refreshes at 5 minutes too). */
export const REUSE_MARGIN_MS = 5 * 60 * 1000;

/** The settings of a profile that decide which credentials it yields (secrets aside). */
const CHAIN_KEYS = [
  'role_arn',
  'source_profile',
  'credential_source',
  'external_id',
  'mfa_serial',
  'duration_seconds',
  'role_session_name',
  'region',
  'sso_session',
  'sso_account_id',
  'sso_role_name',
  'sso_start_url',
  'sso_region',
  'credential_process',
  'web_identity_token_file',
  'aws_access_key_id',
] as const;

export type Profiles = Record<string, Record<string, string | undefined> | undefined>;

/**
 * A profile's chain: its own settings, then those of its source_profile, and so on (a loop or a
 * missing profile ends it; the SDK will say what is wrong with it). Pure.
 */
export function profileChain(profiles: Profiles, profile: string): Record<string, string>[] {
  const chain: Record<string, string>[] = [];
  const seen = new Set<string>();
  let name: string | undefined = profile;
  while (name !== undefined && !seen.has(name) && chain.length < 16) {
    seen.add(name);
    const settings: Record<string, string | undefined> | undefined = profiles[name];
    if (!settings) break;
    const sso = settings.sso_session ? (profiles[`sso-session ${settings.sso_session}`] ?? {}) : {};
    const own: Record<string, string> = { profile: name };
    for (const k of CHAIN_KEYS) {
      const v = settings[k] ?? (k.startsWith('sso_') ? sso[k] : undefined);
      if (v !== undefined) own[k] = v;
    }
    chain.push(own);
    name = settings.source_profile;
  }
  return chain;
}

export function credentialCacheDir(env: NodeJS.ProcessEnv = process.env, home = os.homedir()): string {
  return path.join(xdgBase('cache', env, home), 'dbtunnel', 'credentials');
}

/** The file name part that says whose file it is: the profile's name, shortened and made safe. Pure. */
function profilePart(profile: string): string {
  return profile.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 64);
}

/** The file for a profile's credentials, named by its chain. Pure. */
export function credentialCacheFile(profile: string, chain: Record<string, string>[], dir: string): string {
  const key = createHash('sha256').update(JSON.stringify({ profile, chain })).digest('hex').slice(0, 32);
  return path.join(dir, `${profilePart(profile)}-${key}.json`);
}

/** Where a profile's credentials are kept, from the AWS config files as they are now. */
export async function credentialCacheFor(
  profile: string,
  env: NodeJS.ProcessEnv = process.env,
  home = os.homedir(),
): Promise<string> {
  const { parseKnownFiles } = await import('@smithy/core/config');
  const profiles = (await parseKnownFiles({ profile }).catch(() => ({}))) as Profiles;
  return credentialCacheFile(profile, profileChain(profiles, profile), credentialCacheDir(env, home));
}

/**
 * The MFA device a profile's credentials need (its own mfa_serial or one of its source profiles'), or
 * undefined: `up -d` asks for the code at the terminal only when there is one to ask.
 */
export async function mfaSerialOf(profile: string): Promise<string | undefined> {
  const { parseKnownFiles } = await import('@smithy/core/config');
  const profiles = (await parseKnownFiles({ profile }).catch(() => ({}))) as Profiles;
  return profileChain(profiles, profile).find((p) => p.mfa_serial)?.mfa_serial;
}

/** Kept credentials still good for a while, or undefined (none, expired, unreadable, not ours). */
export async function readCachedCredentials(file: string, now = Date.now()): Promise<CachedCredentials | undefined> {
  if (!(await readablePrivateDir(path.dirname(file)))) return undefined;
  try {
    const raw = JSON.parse((await readBoundedFile(file, 64 * KiB)).toString('utf8')) as Record<string, unknown>;
    const expiration = new Date(String(raw.expiration));
    const text = (v: unknown) => (typeof v === 'string' && v.length > 0 ? v : undefined);
    const accessKeyId = text(raw.accessKeyId);
    const secretAccessKey = text(raw.secretAccessKey);
    if (!accessKeyId || !secretAccessKey || !(expiration.getTime() - now > REUSE_MARGIN_MS)) return undefined;
    return { accessKeyId, secretAccessKey, sessionToken: text(raw.sessionToken), expiration };
  } catch {
    return undefined;
  }
}

/** Keep credentials (0600, in the private directory). Why not, when they cannot be kept. */
export async function writeCachedCredentials(file: string, c: CachedCredentials & { profile: string }): Promise<void> {
  const problem = await ensurePrivateDir(path.dirname(file));
  if (problem) throw new Error(`${path.dirname(file)}: ${problem}`);
  const body = JSON.stringify({
    profile: c.profile,
    accessKeyId: c.accessKeyId,
    secretAccessKey: c.secretAccessKey,
    sessionToken: c.sessionToken,
    expiration: c.expiration.toISOString(),
  });
  await writePrivateFile(file, body);
}

/** `dbtunnel logout`: forget one profile's kept credentials (under any chain), or all. How many files were kept. */
export async function clearCachedCredentials(profile?: string, dir = credentialCacheDir()): Promise<number> {
  const files = (await readdir(dir).catch(() => [] as string[])).filter((f) => /-[0-9a-f]{32}\.json$/.test(f));
  const named =
    profile === undefined
      ? files
      : files.filter((f) => f.slice(0, -'-0123456789abcdef0123456789abcdef.json'.length) === profilePart(profile));
  // Names are shortened and made safe (a.b and a_b share one): the file says whose it is.
  const owner = async (f: string) =>
    (JSON.parse((await readBoundedFile(path.join(dir, f), 64 * KiB)).toString('utf8')) as { profile?: unknown })
      .profile;
  const mine = [];
  for (const f of named) {
    const whose = await owner(f).catch(() => undefined);
    if (profile === undefined || whose === undefined || whose === profile) mine.push(f);
  }
  await Promise.all(mine.map((f) => rm(path.join(dir, f), { force: true })));
  return mine.length;
}
