// The exact command line and environment the AWS CLI gives session-manager-plugin
// (awscli/customizations/sessionmanager.py; docs/aws-facts.md §plugin). Pure.
import type { Credentials, StartSessionRequest, StartSessionResponse } from '../model.js';
import type { PluginArgvForm } from './version.js';

export const RESPONSE_ENV = 'AWS_SSM_START_SESSION_RESPONSE';

export interface PluginInvocation {
  argv: string[];
  /** Variables to add to (or, when undefined, remove from) the plugin's environment. */
  env: Record<string, string | undefined>;
}

export function buildPluginInvocation(input: {
  response: StartSessionResponse;
  region: string;
  /** The profile the plugin should load itself; undefined when it should use its environment. */
  profile: string | undefined;
  request: StartSessionRequest;
  ssmEndpoint: string;
  form: PluginArgvForm;
  /** Resolved credentials for a plugin that cannot resolve the profile itself (MFA). */
  credentials?: Credentials | undefined;
}): PluginInvocation {
  const response = JSON.stringify({
    SessionId: input.response.SessionId,
    TokenValue: input.response.TokenValue,
    StreamUrl: input.response.StreamUrl,
  });
  const env: Record<string, string | undefined> = {};
  let first = response;
  if (input.form === 'env') {
    env[RESPONSE_ENV] = response;
    first = RESPONSE_ENV;
  }
  let profile = input.profile ?? '';
  if (input.credentials) {
    // The plugin cannot prompt for an MFA code: hand it what we resolved, and no profile to
    // resolve again (an AWS_PROFILE left in place could win over these keys).
    profile = '';
    env.AWS_ACCESS_KEY_ID = input.credentials.accessKeyId;
    env.AWS_SECRET_ACCESS_KEY = input.credentials.secretAccessKey;
    env.AWS_SESSION_TOKEN = input.credentials.sessionToken;
    env.AWS_PROFILE = undefined;
    env.AWS_DEFAULT_PROFILE = undefined;
  }
  return {
    argv: [first, input.region, 'StartSession', profile, JSON.stringify(input.request), input.ssmEndpoint],
    env,
  };
}
