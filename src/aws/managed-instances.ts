// What Session Manager knows of instances: whether their agent is Online, and its version
// (ssm:DescribeInstanceInformation). Used to choose among bastions, and by `doctor`.
import { DescribeInstanceInformationCommand } from '@aws-sdk/client-ssm';
import type { AwsContext } from './context.js';
import { describeAwsError } from './errors.js';

export interface ManagedInstance {
  instanceId: string;
  /** Online, ConnectionLost, Inactive. */
  pingStatus: string | undefined;
  agentVersion: string | undefined;
}

/** The instances among `ids` that Session Manager manages, as it reports them. */
export async function managedInstances(aws: AwsContext, ids: string[]): Promise<ManagedInstance[]> {
  try {
    const out = await aws.ssm.send(
      new DescribeInstanceInformationCommand({ Filters: [{ Key: 'InstanceIds', Values: ids }] }),
    );
    return (out.InstanceInformationList ?? [])
      .filter((i) => i.InstanceId)
      .map((i) => ({ instanceId: i.InstanceId!, pingStatus: i.PingStatus, agentVersion: i.AgentVersion }));
  } catch (e) {
    throw describeAwsError(e, {
      action: 'ask Session Manager about the bastion',
      profile: aws.profile,
      region: aws.region,
    });
  }
}
