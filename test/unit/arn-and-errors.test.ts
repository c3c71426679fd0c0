import { describe, expect, it } from 'vitest';
import { documentArn, instanceArn, partitionOf } from '../../src/arn.js';
import { describeAwsError } from '../../src/aws/errors.js';
import { EXIT } from '../../src/errors.js';

describe('partitions', () => {
  it.each([
    ['ap-northeast-1', 'aws'],
    ['cn-north-1', 'aws-cn'],
    ['us-gov-west-1', 'aws-us-gov'],
    ['us-iso-east-1', 'aws-iso'],
    ['us-isob-east-1', 'aws-iso-b'],
  ])('%s → %s', (region, partition) => expect(partitionOf(region)).toBe(partition));

  it('builds ARNs in the partition, AWS-owned documents with an empty account', () => {
    expect(instanceArn('cn-north-1', '123456789012', 'i-1')).toBe(
      'arn:aws-cn:ec2:cn-north-1:123456789012:instance/i-1',
    );
    expect(documentArn('us-east-1', 'AWS-StartPortForwardingSessionToRemoteHost')).toBe(
      'arn:aws:ssm:us-east-1::document/AWS-StartPortForwardingSessionToRemoteHost',
    );
  });
});

describe('AWS errors, explained', () => {
  const ctx = {
    action: 'start a port-forwarding session on i-1',
    profile: 'stg',
    region: 'ap-northeast-1',
    target: 'i-1',
  };
  it.each([
    ['AccessDeniedException', 'accessDenied', EXIT.accessDenied],
    ['TargetNotConnected', 'targetNotConnected', EXIT.targetNotConnected],
    ['ExpiredTokenException', 'credentials', EXIT.credentials],
    ['UnrecognizedClientException', 'credentials', EXIT.credentials],
    ['CredentialsProviderError', 'credentials', EXIT.credentials],
    ['ThrottlingException', 'throttled', EXIT.throttled],
    ['InvalidDocument', 'invalidDocument', EXIT.invalidDocument],
    ['SomethingNew', 'aws', EXIT.aws],
  ])('%s → %s', (name, kind, code) => {
    const e = Object.assign(new Error('AWS text here'), { name });
    const err = describeAwsError(e, ctx);
    expect(err.kind).toBe(kind);
    expect(err.exitCode).toBe(code);
    // AWS's own words are never thrown away.
    expect([err.message, ...err.details].join(' ')).toContain('AWS text here');
    expect(err.hint).toBeTruthy();
  });

  it('expired credentials point at aws sso login for the profile', () => {
    const err = describeAwsError(
      Object.assign(new Error('The security token included in the request is expired'), {
        name: 'ExpiredTokenException',
      }),
      ctx,
    );
    expect(err.hint).toContain('aws sso login --profile stg');
  });
});
