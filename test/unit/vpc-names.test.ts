// Reading a database's host: which RDS instance or cluster an endpoint names, and which addresses are
// private (those an interface in a VPC has). Pure.
import { describe, expect, it } from 'vitest';
import { isPrivateIpv4, rdsEndpointOf } from '../../src/aws/vpc.js';

describe('rdsEndpointOf', () => {
  it.each([
    ['mydb.abcdefgh1234.ap-northeast-1.rds.amazonaws.com', { kind: 'instance', id: 'mydb', region: 'ap-northeast-1' }],
    ['orders.cluster-abcdefgh1234.us-east-1.rds.amazonaws.com', { kind: 'cluster', id: 'orders', region: 'us-east-1' }],
    [
      'orders.cluster-ro-abcdefgh1234.eu-west-2.rds.amazonaws.com',
      { kind: 'cluster', id: 'orders', region: 'eu-west-2' },
    ],
    ['MyDB.ABCDEFGH1234.us-gov-west-1.rds.amazonaws.com', { kind: 'instance', id: 'mydb', region: 'us-gov-west-1' }],
    ['mydb.abcdefgh1234.cn-north-1.rds.amazonaws.com.cn', { kind: 'instance', id: 'mydb', region: 'cn-north-1' }],
    ['mydb.abcdefgh1234.ap-northeast-1.rds.amazonaws.com.', { kind: 'instance', id: 'mydb', region: 'ap-northeast-1' }],
  ])('%s', (host, expected) => {
    expect(rdsEndpointOf(host)).toEqual(expected);
  });
  it.each([
    'reports.cluster-custom-abcdefgh1234.us-east-1.rds.amazonaws.com',
    'myproxy.proxy-abcdefgh1234.us-east-1.rds.amazonaws.com',
    'mydb.internal',
    '10.0.2.20',
    'mydb.abcdefgh1234.ap-northeast-1.rds.amazonaws.com.evil.example',
  ])('%s names no RDS instance or cluster', (host) => {
    expect(rdsEndpointOf(host)).toBeUndefined();
  });
});

describe('isPrivateIpv4', () => {
  it.each([
    ['10.0.2.20', true],
    ['172.16.0.1', true],
    ['172.31.255.255', true],
    ['172.32.0.1', false],
    ['192.168.1.1', true],
    ['100.64.0.1', true],
    ['100.128.0.1', false],
    ['54.250.1.2', false],
  ])('%s: %s', (ip, expected) => {
    expect(isPrivateIpv4(ip)).toBe(expected);
  });
});
