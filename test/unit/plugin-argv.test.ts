import { describe, expect, it } from 'vitest';
import { buildPluginInvocation } from '../../src/plugin/argv.js';
import { redact } from '../../src/secrets.js';
import { pluginEnvironment } from '../../src/plugin/process.js';
import { portForwardingRequest } from '../../src/aws/session.js';

const response = {
  SessionId: 'dev-0a1b2c3d4e5f67890',
  TokenValue: 'SECRET-TOKEN',
  StreamUrl:
    'wss://ssmmessages.ap-northeast-1.amazonaws.com/v1/data-channel/dev-0a1b2c3d4e5f67890?role=publish_subscribe',
};
const request = portForwardingRequest('i-0abc1234def567890', 'mydb.internal', 3306, 13306);

describe('the StartSession request', () => {
  it('uses the port-forwarding document with every parameter a list of strings', () => {
    expect(request).toEqual({
      Target: 'i-0abc1234def567890',
      DocumentName: 'AWS-StartPortForwardingSessionToRemoteHost',
      Parameters: { host: ['mydb.internal'], portNumber: ['3306'], localPortNumber: ['13306'] },
    });
  });
});

describe('the plugin command line', () => {
  it("is the AWS CLI's: response env name, region, StartSession, profile, request JSON, endpoint", () => {
    const inv = buildPluginInvocation({
      response,
      region: 'ap-northeast-1',
      profile: 'stg',
      request,
      ssmEndpoint: 'https://ssm.ap-northeast-1.amazonaws.com',
      form: 'env',
    });
    expect(inv.argv).toEqual([
      'AWS_SSM_START_SESSION_RESPONSE',
      'ap-northeast-1',
      'StartSession',
      'stg',
      JSON.stringify(request),
      'https://ssm.ap-northeast-1.amazonaws.com',
    ]);
    expect(JSON.parse(inv.env.AWS_SSM_START_SESSION_RESPONSE!)).toEqual(response);
    expect(inv.argv.join(' ')).not.toContain('SECRET-TOKEN');
  });

  it('passes "" as the profile when none was chosen, as the AWS CLI does', () => {
    const inv = buildPluginInvocation({
      response,
      region: 'eu-west-1',
      profile: undefined,
      request,
      ssmEndpoint: 'x',
      form: 'env',
    });
    expect(inv.argv[3]).toBe('');
  });

  it('hands resolved credentials (and no profile) to a plugin that could not prompt for MFA', () => {
    const inv = buildPluginInvocation({
      response,
      region: 'ap-northeast-1',
      profile: 'mfa',
      request,
      ssmEndpoint: 'x',
      form: 'env',
      credentials: { accessKeyId: 'ASIAX', secretAccessKey: 'sk', sessionToken: 'st' },
    });
    expect(inv.argv[3]).toBe('');
    expect(inv.env).toMatchObject({ AWS_ACCESS_KEY_ID: 'ASIAX', AWS_SECRET_ACCESS_KEY: 'sk', AWS_SESSION_TOKEN: 'st' });
    const env = pluginEnvironment({ AWS_PROFILE: 'mfa', PATH: '/bin' }, inv.env);
    expect(env.AWS_PROFILE).toBeUndefined();
    expect(env.PATH).toBe('/bin');
  });

  it('puts the response itself first in the legacy form; printed, it shows no token', () => {
    const inv = buildPluginInvocation({
      response,
      region: 'ap-northeast-1',
      profile: 'stg',
      request,
      ssmEndpoint: 'x',
      form: 'legacy',
    });
    expect(JSON.parse(inv.argv[0]!)).toEqual(response);
    expect(inv.env.AWS_SSM_START_SESSION_RESPONSE).toBeUndefined();
    // Even unregistered, the response's shape gives the token away to the redaction.
    expect(redact(JSON.stringify(inv.argv))).not.toContain('SECRET-TOKEN');
    expect(redact(inv.argv[0]!)).toContain('"TokenValue":"(session token)"');
  });
});
