import { expect, it } from 'vitest';
import { endpointFor } from '../../src/aws/network.js';

it('knows each client\'s endpoint for the proxy decision', () => {
  expect(endpointFor('ssm', 'ap-northeast-1', {})).toBe('https://ssm.ap-northeast-1.amazonaws.com');
  expect(endpointFor('ec2', 'cn-north-1', {})).toBe('https://ec2.cn-north-1.amazonaws.com.cn');
  expect(endpointFor('iam', 'eu-west-1', {})).toBe('https://iam.amazonaws.com');
  expect(endpointFor('ssm', 'eu-west-1', { AWS_ENDPOINT_URL: 'http://a', AWS_ENDPOINT_URL_SSM: 'http://b' })).toBe('http://b');
  expect(endpointFor('ec2', 'eu-west-1', { AWS_ENDPOINT_URL: 'http://a' })).toBe('http://a');
});
