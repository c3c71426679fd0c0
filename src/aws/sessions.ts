// The caller's own active sessions (ssm:DescribeSessions, owner = the caller), for `dbtunnel sessions`.
import { DescribeSessionsCommand, type Session } from '@aws-sdk/client-ssm';
import type { AwsContext } from './context.js';
import { describeAwsError } from './errors.js';

export interface ActiveSession {
  sessionId: string;
  target: string | undefined;
  startDate: Date | undefined;
  documentName: string | undefined;
}

export async function activeSessionsOf(aws: AwsContext, owner: string): Promise<ActiveSession[]> {
  const out: Session[] = [];
  try {
    let NextToken: string | undefined;
    do {
      const page = await aws.ssm.send(
        new DescribeSessionsCommand({ State: 'Active', Filters: [{ key: 'Owner', value: owner }], NextToken }),
      );
      out.push(...(page.Sessions ?? []));
      NextToken = page.NextToken;
    } while (NextToken);
  } catch (e) {
    throw describeAwsError(e, {
      action: 'list your sessions (ssm:DescribeSessions)',
      profile: aws.profile,
      region: aws.region,
    });
  }
  return out
    .filter((s) => s.SessionId)
    .map((s) => ({ sessionId: s.SessionId!, target: s.Target, startDate: s.StartDate, documentName: s.DocumentName }));
}
