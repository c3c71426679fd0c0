// EC2's "Encoded authorization failure message", decoded with sts:DecodeAuthorizationMessage when
// the caller may (many may not: then quietly nothing).
import { DecodeAuthorizationMessageCommand, STSClient } from '@aws-sdk/client-sts';
import type { AwsContext } from './context.js';

interface Decoded {
  allowed?: boolean;
  explicitDeny?: boolean;
  matchedStatements?: { items?: { statementId?: string; effect?: string }[] };
  context?: { action?: string; resource?: string };
}

/** One line saying what the decoded message adds, or undefined. Pure. */
export function summarizeDecoded(json: string): string | undefined {
  let d: Decoded;
  try {
    d = JSON.parse(json) as Decoded;
  } catch {
    return undefined;
  }
  const what = [d.context?.action, d.context?.resource && `on ${d.context.resource}`].filter(Boolean).join(' ');
  const statements = (d.matchedStatements?.items ?? []).map((s) => `${s.effect ?? '?'} ${s.statementId ?? '(no Sid)'}`);
  const verdict = d.explicitDeny ? 'explicitly denied' : 'not allowed';
  const matched = statements.length ? ` (matched: ${statements.join(', ')})` : ' (no statement matched)';
  return `Decoded: ${what || 'the request'} was ${verdict}${matched}.`;
}

export async function decodeAuthorizationMessage(
  aws: AwsContext,
  encoded: string,
  debug: (m: string) => void,
): Promise<string | undefined> {
  try {
    const sts = new STSClient(aws.clientConfig('sts'));
    const out = await sts.send(new DecodeAuthorizationMessageCommand({ EncodedMessage: encoded }));
    return out.DecodedMessage ? summarizeDecoded(out.DecodedMessage) : undefined;
  } catch (e) {
    debug(`sts:DecodeAuthorizationMessage failed (${(e as Error).name}): showing AWS's message as it is`);
    return undefined;
  }
}
