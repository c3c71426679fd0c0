// What an AWS error means for the user: a kind, AWS's own words, and what to do. Pure.
import { TunnelError } from '../errors.js';
import { posixQuote } from '../shell-quote.js';

export interface AwsErrorContext {
  /** What we were doing, in the user's words: "look up the bastion", "start the session on i-…". */
  action: string;
  profile?: string | undefined;
  region?: string | undefined;
  target?: string | undefined;
}

interface AwsLikeError {
  name?: string;
  message?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
}

const LOGIN_HINT = (profile: string | undefined) =>
  profile
    ? `Refresh the credentials of profile ${profile}: for SSO, \`aws sso login ` +
      `--profile ${posixQuote(profile)}\`; for others, renew the keys it uses.`
    : 'Refresh your AWS credentials (for SSO: `aws sso login`), or pick a profile with --profile.';

export function describeAwsError(e: unknown, ctx: AwsErrorContext): TunnelError {
  if (e instanceof TunnelError) return e;
  const err = (e ?? {}) as AwsLikeError;
  const name = err.name ?? 'Error';
  const text = (err.message ?? String(e)).trim();
  const where = [ctx.profile && `profile ${ctx.profile}`, ctx.region].filter(Boolean).join(', ');
  const said = `AWS said: ${text}`;
  switch (name) {
    case 'AccessDeniedException':
    case 'AccessDenied':
    case 'UnauthorizedOperation':
      return new TunnelError('accessDenied', `AWS refused to ${ctx.action}${where ? ` (${where})` : ''}.`, {
        details: [said],
        hint:
          'Your IAM identity lacks a permission this needs; ' +
          '`dbtunnel policy <env>` prints the policy a tunnel needs.',
        cause: e,
      });
    case 'TargetNotConnected':
      return new TunnelError(
        'targetNotConnected',
        `The bastion ${ctx.target ?? ''} is not connected to Session Manager.`.replace('  ', ' '),
        {
          details: [said],
          hint:
            'Check that its SSM agent is running, that its instance profile ' +
            'allows Session Manager (AmazonSSMManagedInstanceCore),\n' +
            'that it can reach the ssm/ssmmessages endpoints, and that this ' +
            'is the right region. A bastion that just booted needs a minute.',
          cause: e,
        },
      );
    case 'ExpiredTokenException':
    case 'ExpiredToken':
    case 'RequestExpired':
    case 'TokenRefreshRequired':
      return new TunnelError('credentials', `Your AWS credentials have expired${where ? ` (${where})` : ''}.`, {
        details: [said],
        hint: LOGIN_HINT(ctx.profile),
        cause: e,
      });
    case 'UnrecognizedClientException':
    case 'InvalidClientTokenId':
    case 'AuthFailure':
    case 'SignatureDoesNotMatch':
    case 'IncompleteSignature':
    case 'InvalidSignatureException':
      return new TunnelError('credentials', `AWS does not accept these credentials${where ? ` (${where})` : ''}.`, {
        details: [said],
        hint: LOGIN_HINT(ctx.profile),
        cause: e,
      });
    case 'CredentialsProviderError':
    case 'ProviderError':
    case 'TokenProviderError':
      return new TunnelError(
        'credentials',
        `Could not load AWS credentials${ctx.profile ? ` for profile ${ctx.profile}` : ''}: ${text}`,
        {
          hint: ctx.profile
            ? `Check profile ${ctx.profile} in ~/.aws/config (or AWS_CONFIG_FILE); ` +
              `for SSO run \`aws sso login --profile ${posixQuote(ctx.profile)}\`.`
            : 'Set a profile (`profile:` in the config, --profile, or AWS_PROFILE), or export AWS credentials.',
          cause: e,
        },
      );
    case 'ThrottlingException':
    case 'Throttling':
    case 'RequestLimitExceeded':
    case 'TooManyRequestsException':
      return new TunnelError('throttled', `AWS is throttling requests while trying to ${ctx.action}.`, {
        details: [said],
        hint: 'Wait a little and run it again; many tools sharing one account can hit the rate limit.',
        cause: e,
      });
    case 'InvalidDocument':
      return new TunnelError(
        'invalidDocument',
        `Session Manager rejected the port-forwarding document while trying to ${ctx.action}.`,
        {
          details: [said],
          hint:
            'The AWS-owned document AWS-StartPortForwardingSessionToRemoteHost ' +
            'should exist in every commercial region; check the region.',
          cause: e,
        },
      );
  }
  const code = (e as NodeJS.ErrnoException)?.code;
  if (
    code === 'ECONNREFUSED' ||
    code === 'ENOTFOUND' ||
    code === 'ETIMEDOUT' ||
    code === 'ECONNRESET' ||
    code === 'EAI_AGAIN'
  ) {
    return new TunnelError('aws', `Could not reach AWS to ${ctx.action}: ${text}`, {
      hint:
        'Check the network (VPN, proxy: HTTPS_PROXY) and the region; ' +
        'AWS_ENDPOINT_URL* variables, if set, must point at a live endpoint.',
      cause: e,
    });
  }
  return new TunnelError('aws', `AWS could not ${ctx.action}: ${name}: ${text}`, {
    hint: 'Run again with --debug for details.',
    cause: e,
  });
}
