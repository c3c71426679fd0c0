// Who the caller is (sts:GetCallerIdentity) and what IAM would decide for them
// (iam:SimulatePrincipalPolicy), for `doctor` and `sessions`.
import { IAMClient, SimulatePrincipalPolicyCommand } from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { AwsContext } from './context.js';
import { describeAwsError } from './errors.js';

export interface CallerIdentity {
  arn: string;
  userId: string;
  account: string;
  /** IAM users only. */
  username: string | undefined;
}

export async function whoAmI(aws: AwsContext): Promise<CallerIdentity> {
  try {
    const me = await new STSClient(aws.clientConfig('sts')).send(new GetCallerIdentityCommand({}));
    const arn = me.Arn ?? '';
    return {
      arn,
      userId: me.UserId ?? '',
      account: me.Account ?? '',
      username: /:user\/(?:.*\/)?([^/]+)$/.exec(arn)?.[1],
    };
  } catch (e) {
    throw describeAwsError(e, {
      action: 'tell who you are (sts:GetCallerIdentity)',
      profile: aws.profile,
      region: aws.region,
    });
  }
}

/** One request simulated for a principal: IAM's decision (`allowed`, `implicitDeny`, `explicitDeny`). */
export async function simulatePrincipalPolicy(
  aws: AwsContext,
  request: { source: string; action: string; resource: string; context: Record<string, string | string[]> },
): Promise<string | undefined> {
  try {
    const out = await new IAMClient(aws.clientConfig('iam')).send(
      new SimulatePrincipalPolicyCommand({
        PolicySourceArn: request.source,
        ActionNames: [request.action],
        ResourceArns: [request.resource],
        ContextEntries: Object.entries(request.context).map(([k, v]) => ({
          ContextKeyName: k,
          ContextKeyType: 'string',
          ContextKeyValues: [v].flat(),
        })),
      }),
    );
    return out.EvaluationResults?.[0]?.EvalDecision;
  } catch (e) {
    throw describeAwsError(e, { action: 'simulate your IAM policies', profile: aws.profile, region: aws.region });
  }
}
