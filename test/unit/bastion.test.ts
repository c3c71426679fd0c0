import { describe, expect, it } from 'vitest';
import { bastionFilters, chooseBastion, type InstanceSummary } from '../../src/aws/bastion.js';
import type { TunnelError } from '../../src/errors.js';

const scope = { region: 'ap-northeast-1', profile: 'stg' };
const inst = (id: string, state: string, launched: string): InstanceSummary => ({
  instanceId: id,
  state,
  launchTime: new Date(launched),
  tags: { Name: 'bastion' },
});

describe('bastion filters', () => {
  it('asks for the Name tag and every state worth reporting in one call', () => {
    expect(bastionFilters({ kind: 'name', name: 'bastion' })).toEqual([
      { Name: 'tag:Name', Values: ['bastion'] },
      { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
    ]);
  });
  it('asks for every tag of a tags query', () => {
    expect(bastionFilters({ kind: 'tags', tags: { Role: 'bastion', Team: 'db' } }).slice(0, 2)).toEqual([
      { Name: 'tag:Role', Values: ['bastion'] },
      { Name: 'tag:Team', Values: ['db'] },
    ]);
  });
});

describe('choosing the bastion', () => {
  const a = inst('i-0aaaaaaaaaaaaaaaa', 'running', '2026-01-01');
  const b = inst('i-0bbbbbbbbbbbbbbbb', 'running', '2026-03-01');
  const c = inst('i-0cccccccccccccccc', 'running', '2026-02-01');

  it('the only running one', () => {
    const picked = chooseBastion(
      'Name=bastion',
      [a, inst('i-0dddddddddddddddd', 'stopped', '2026-05-01')],
      undefined,
      scope,
    );
    expect(picked.instanceId).toBe(a.instanceId);
    expect(picked.why).toMatch(/only running/);
  });

  it('Online before newest', () => {
    const picked = chooseBastion('Name=bastion', [a, b, c], new Set([a.instanceId]), scope);
    expect(picked.instanceId).toBe(a.instanceId);
    expect(picked.why).toMatch(/only one Session Manager reports Online/);
  });

  it('the newest of several Online', () => {
    expect(chooseBastion('Name=bastion', [a, b, c], new Set([a.instanceId, c.instanceId]), scope).instanceId).toBe(
      c.instanceId,
    );
  });

  it('the newest when none is Online, or when Online is unknown, and says so', () => {
    expect(chooseBastion('Name=bastion', [a, b, c], new Set(), scope)).toMatchObject({
      instanceId: b.instanceId,
      why: expect.stringMatching(/none is Online/),
    });
    expect(chooseBastion('Name=bastion', [a, b, c], undefined, scope)).toMatchObject({
      instanceId: b.instanceId,
      why: expect.stringMatching(/unknown/),
    });
  });

  it('none running: says which exist in other states and how to start them', () => {
    try {
      chooseBastion('Name=bastion', [inst('i-0eeeeeeeeeeeeeeee', 'stopped', '2026-01-01')], undefined, scope);
      expect.unreachable();
    } catch (e) {
      const err = e as TunnelError;
      expect(err.kind).toBe('bastionNotFound');
      expect(err.details.join()).toContain('i-0eeeeeeeeeeeeeeee (stopped)');
      expect(err.hint).toContain(
        'aws ec2 start-instances --instance-ids i-0eeeeeeeeeeeeeeee --region ap-northeast-1 --profile stg',
      );
    }
  });

  it('none at all: points at the tag, region and account', () => {
    expect(() => chooseBastion('Name=bastion', [], undefined, scope)).toThrowError(
      /No running instance is tagged Name=bastion in ap-northeast-1 \(profile stg\)/,
    );
  });

  it('pending: says to wait', () => {
    try {
      chooseBastion('Name=bastion', [inst('i-0fffffffffffffff0', 'pending', '2026-01-01')], undefined, scope);
      expect.unreachable();
    } catch (e) {
      expect((e as TunnelError).hint).toMatch(/starting/);
    }
  });
});
