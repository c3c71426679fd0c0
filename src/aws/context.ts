// One environment's view of AWS: credentials from the SDK's own providers (static keys, SSO,
// assume-role, MFA, credential_process, instance role), the region, and the clients. The SDK keeps
// honouring AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE>, AWS_CONFIG_FILE and
// AWS_SHARED_CREDENTIALS_FILE: we pass nothing that would override them.
import type { Stats } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { EC2Client } from '@aws-sdk/client-ec2';
import { SSMClient } from '@aws-sdk/client-ssm';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { TunnelError } from '../errors.js';
import { kindOfFile, MiB } from '../files.js';
import { registerSecret } from '../secrets.js';
import { partitionOf } from '../arn.js';
import { credentialCacheFor, readCachedCredentials, writeCachedCredentials } from './credential-cache.js';
import { describeAwsError } from './errors.js';
import { networkFor, type RequestHandlerOptions, type Service } from './network.js';

type CredentialProvider = ReturnType<typeof fromNodeProviderChain>;
export type AwsCredentials = Awaited<ReturnType<CredentialProvider>>;

export interface AwsOptions {
  profile: string | undefined;
  region: string | undefined;
  /** Asked for an MFA code when a profile has mfa_serial. */
  mfaCode: (serial: string) => Promise<string>;
  debug: (message: string) => void;
  warn: (message: string) => void;
  /** The command, when it runs without an environment (sessions): the region's hint names it. */
  withoutEnvironment?: string | undefined;
}

export interface AwsContext {
  readonly profile: string | undefined;
  readonly region: string;
  readonly partition: string;
  readonly ec2: EC2Client;
  readonly ssm: SSMClient;
  credentials(): Promise<AwsCredentials>;
  /**
   * True when the plugin must get resolved keys instead of the profile name: an MFA code was typed
   * (it cannot prompt), or the keys came from dbtunnel's cache (resolving the profile again would
   * ask for a new code).
   */
  readonly pluginNeedsCredentials: boolean;
  /** The SSM endpoint the SDK really sent StartSession to, for the plugin (docs/aws-facts.md §sdk). */
  readonly ssmEndpoint: string | undefined;
  /** Stop using cached keys (AWS said they expired): the profile is resolved again. True if it was using them. */
  forgetCachedCredentials(): Promise<boolean>;
  /** For other clients (STS, IAM) that should share these credentials and this region. */
  readonly clientConfig: (service: Service) => {
    region: string;
    credentials: CredentialProvider;
    profile?: string;
    retryMode: string;
    maxAttempts: number;
    requestHandler?: RequestHandlerOptions;
  };
}

export async function createAwsContext(opts: AwsOptions): Promise<AwsContext> {
  await checkAwsFiles(process.env); // before anything of the SDK reads them
  let mfaUsed = false;
  let ssmEndpoint: string | undefined;
  const logger = {
    debug: (...a: unknown[]) => opts.debug(a.map(String).join(' ')),
    info: (...a: unknown[]) => opts.debug(a.map(String).join(' ')),
    warn: (...a: unknown[]) =>
      opts.warn(
        String(a[0])
          .split('\n')
          .map((l) => l.trim())
          .filter(Boolean)
          .slice(1, 3)
          .join(' '),
      ),
    error: (...a: unknown[]) => opts.debug(a.map(String).join(' ')),
  };
  // Temporary credentials of a named profile from an earlier run, while they last.
  const cacheFile = opts.profile ? await credentialCacheFor(opts.profile) : undefined;
  const cached = cacheFile ? await readCachedCredentials(cacheFile) : undefined;
  if (cached)
    opts.debug(
      `credentials: reusing those of profile ${opts.profile} until ` +
        `${cached.expiration.toISOString()} (dbtunnel logout forgets them)`,
    );
  // One provider for every client, so an assume-role or MFA profile resolves once per run.
  const network = await networkFor(process.env);
  // The region first (no network involved): the proxy decision needs each client's endpoint.
  const region = await resolveRegion(opts);
  const services: Service[] = ['sts', 'ssm', 'ec2', 'iam', 'rds'];
  const handlers = new Map(await Promise.all(services.map(async (s) => [s, await network(s, region)] as const)));
  const handlerFor = (service: Service): { requestHandler?: RequestHandlerOptions } => {
    const requestHandler = handlers.get(service);
    return requestHandler ? { requestHandler } : {};
  };
  const chain: CredentialProvider = fromNodeProviderChain({
    ...(opts.profile ? { profile: opts.profile } : {}),
    mfaCodeProvider: async (serial: string) => {
      mfaUsed = true;
      return opts.mfaCode(serial);
    },
    logger,
    // The STS and SSO clients behind assume-role and SSO profiles go through the proxy too.
    clientConfig: { region, ...handlerFor('sts') },
  });
  // Cached keys are used until AWS says they no longer work; then the profile is resolved again.
  let useCache = cached !== undefined;
  const credentials: CredentialProvider = async (props) => known(useCache ? cached! : await chain(props));
  const common = {
    region,
    ...(opts.profile ? { profile: opts.profile } : {}),
    credentials,
    retryMode: 'standard',
    maxAttempts: 3,
  };
  const ssm = new SSMClient({ ...common, ...handlerFor('ssm') });
  const ec2 = new EC2Client({ ...common, ...handlerFor('ec2') });
  // Credentials are resolved here, once, so that a failure (an expired SSO login, a wrong MFA code,
  // a role we may not assume) is reported as a credentials problem, not as a failed lookup.
  let resolved: AwsCredentials;
  try {
    resolved = await credentials();
  } catch (e) {
    throw credentialsError(e, opts.profile);
  }
  if (cacheFile && !cached && resolved.expiration && resolved.sessionToken) {
    await writeCachedCredentials(cacheFile, {
      ...resolved,
      expiration: resolved.expiration,
      profile: opts.profile!,
    }).catch((e: unknown) =>
      opts.warn(
        `The role credentials of profile ${opts.profile} are not kept for the next run: ${(e as Error).message}.`,
      ),
    );
  }

  ssm.middlewareStack.add(
    (next) => async (args) => {
      const req = args.request as { protocol?: string; hostname?: string; port?: number; path?: string };
      if (req.hostname) {
        const path = (req.path ?? '/').replace(/\/+$/, '');
        ssmEndpoint = `${req.protocol ?? 'https:'}//${req.hostname}${req.port ? `:${req.port}` : ''}${path}`;
      }
      return next(args);
    },
    { step: 'finalizeRequest', name: 'dbtunnelRecordSsmEndpoint' },
  );
  const timing = (service: string) => ({
    // Timings only: inputs and outputs are never printed (StartSession's answer holds the token).
    middleware:
      (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) => async (args: unknown) => {
        const started = Date.now();
        try {
          return await next(args);
        } finally {
          opts.debug(`aws ${service} ${context.commandName ?? '?'} ${Date.now() - started} ms`);
        }
      },
    options: { step: 'initialize' as const, name: 'dbtunnelDebugTiming' },
  });
  const ec2Timing = timing('ec2');
  const ssmTiming = timing('ssm');
  ec2.middlewareStack.add(ec2Timing.middleware as never, ec2Timing.options);
  ssm.middlewareStack.add(ssmTiming.middleware as never, ssmTiming.options);

  return {
    profile: opts.profile,
    region,
    clientConfig: (service) => ({ ...common, ...handlerFor(service) }),
    partition: partitionOf(region),
    ec2,
    ssm,
    get pluginNeedsCredentials() {
      return mfaUsed || useCache;
    },
    async forgetCachedCredentials() {
      if (!useCache) return false;
      useCache = false;
      if (cacheFile) await rm(cacheFile, { force: true });
      return true;
    },
    get ssmEndpoint() {
      return ssmEndpoint;
    },
    async credentials() {
      try {
        return await credentials();
      } catch (e) {
        throw credentialsError(e, opts.profile);
      }
    },
  };
}

/** Credentials as they are resolved: their secrets are known to the redaction from then on. */
function known<T extends { secretAccessKey: string; sessionToken?: string | undefined }>(c: T): T {
  registerSecret(c.secretAccessKey, 'AWS secret key');
  registerSecret(c.sessionToken, 'AWS session token');
  return c;
}

/** The AWS config and credentials files are a few KiB; more is not one. */
const MAX_AWS_FILE_BYTES = 10 * MiB;

/**
 * The AWS SDK reads the AWS config and credentials files whole, whatever they are: a FIFO there
 * hangs it, /dev/zero fills memory. Each is checked first: absent, or a regular file of sane size.
 */
async function checkAwsFiles(env: NodeJS.ProcessEnv, home = os.homedir()): Promise<void> {
  const files: [string, string][] = [
    ['AWS_CONFIG_FILE', env.AWS_CONFIG_FILE || path.join(home, '.aws', 'config')],
    ['AWS_SHARED_CREDENTIALS_FILE', env.AWS_SHARED_CREDENTIALS_FILE || path.join(home, '.aws', 'credentials')],
  ];
  for (const [variable, file] of files) {
    let st: Stats;
    try {
      st = await stat(file);
    } catch {
      continue; // none: the SDK does without it
    }
    const problem = !st.isFile()
      ? `is ${kindOfFile(st)}, not a regular file`
      : st.size > MAX_AWS_FILE_BYTES
        ? `is ${Math.ceil(st.size / MiB)} MiB: not an AWS ` +
          `${variable === 'AWS_CONFIG_FILE' ? 'config' : 'credentials'} file`
        : undefined;
    if (problem) {
      throw new TunnelError('config', `${env[variable] ? `${variable} names ${file}, which` : `${file}`} ${problem}.`, {
        hint: env[variable]
          ? `Point ${variable} at the file itself, or unset it.`
          : `Replace ${file} with the AWS ${variable === 'AWS_CONFIG_FILE' ? 'config' : 'credentials'} file.`,
      });
    }
  }
}

function credentialsError(e: unknown, profile: string | undefined): TunnelError {
  const described = describeAwsError(e, { action: 'get credentials', profile });
  if (described.kind === 'credentials') return described;
  // STS said no while resolving the profile (AssumeRole denied, a wrong MFA code).
  const text = (e as Error)?.message ?? String(e);
  return new TunnelError('credentials', `Could not get AWS credentials${profile ? ` for profile ${profile}` : ''}.`, {
    details: [`AWS said: ${text}`],
    hint: /MultiFactorAuthentication|MFA/i.test(text)
      ? 'The MFA code was not accepted: run again with the current code from your MFA device.'
      : `Check role_arn and source_profile of ${profile ? `profile ${profile}` : 'your profile'}: ` +
        `the source identity must be allowed sts:AssumeRole on that role.`,
    cause: e,
  });
}

/**
 * The region, as the SDK decides it (--region or the config's, else AWS_REGION, else the profile's):
 * no network, no credentials. A config error when there is none.
 */
export async function resolveRegion(
  opts: Pick<AwsOptions, 'profile' | 'region' | 'withoutEnvironment'>,
): Promise<string> {
  const probe = new SSMClient({
    ...(opts.region ? { region: opts.region } : {}),
    ...(opts.profile ? { profile: opts.profile } : {}),
  });
  try {
    const region = await probe.config.region();
    if (region) return region;
    throw noRegion(opts, undefined);
  } catch (e) {
    throw e instanceof TunnelError ? e : noRegion(opts, e);
  } finally {
    probe.destroy();
  }
}

function noRegion(opts: Pick<AwsOptions, 'profile' | 'withoutEnvironment'>, cause: unknown): TunnelError {
  const profile = opts.profile ? `profile ${opts.profile}` : 'your AWS profile';
  if (opts.withoutEnvironment) {
    return new TunnelError('config', `No AWS region is set for dbtunnel ${opts.withoutEnvironment}.`, {
      hint:
        `Name an environment to use its region (dbtunnel ${opts.withoutEnvironment} ` +
        `<env>), pass --region, set AWS_REGION, or set region in ${profile}.`,
      cause,
    });
  }
  return new TunnelError('config', 'No AWS region is set for this environment.', {
    hint:
      `Add \`region:\` to the environment in the config, pass ` +
      `--region, set AWS_REGION, or set region in ${profile}.`,
    cause,
  });
}

/**
 * For commands that do not prompt (doctor, sessions): an MFA profile is a credentials problem with a
 * way out — a tunnel asks for the code once and keeps the role credentials, which these then reuse.
 */
export function refuseMfa(command: string): (serial: string) => Promise<string> {
  return (serial) =>
    Promise.reject(
      new TunnelError(
        'credentials',
        `The profile needs an MFA code (${serial}), and dbtunnel ${command} does not ask for one.`,
        {
          hint:
            'Open a tunnel once first (dbtunnel <env> <db> asks for the code and ' +
            'keeps the role credentials until they expire); then run this again.',
        },
      ),
    );
}
