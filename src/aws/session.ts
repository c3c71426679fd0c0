// Session Manager sessions: the StartSession request the AWS CLI would send, and TerminateSession.
import { ResumeSessionCommand, StartSessionCommand, TerminateSessionCommand } from '@aws-sdk/client-ssm';
import { PORT_FORWARDING_DOCUMENT, type StartSessionRequest, type StartSessionResponse } from '../model.js';
import type { AwsContext } from './context.js';
import { registerSecret } from '../secrets.js';
import { describeAwsError } from './errors.js';

/** Every parameter value is a list of strings (the document's contract). Pure. */
export function portForwardingRequest(
  target: string,
  host: string,
  port: number,
  localPort: number,
): StartSessionRequest {
  return {
    Target: target,
    DocumentName: PORT_FORWARDING_DOCUMENT,
    Parameters: { host: [host], portNumber: [String(port)], localPortNumber: [String(localPort)] },
  };
}

export async function startSession(aws: AwsContext, request: StartSessionRequest): Promise<StartSessionResponse> {
  try {
    const out = await aws.ssm.send(new StartSessionCommand(request));
    // Known from here on: whatever prints it later (the plugin, an error) shows it redacted.
    registerSecret(out.TokenValue, 'session token');
    if (!out.SessionId || !out.TokenValue || !out.StreamUrl) {
      throw new Error('StartSession answered without SessionId, TokenValue or StreamUrl');
    }
    return { SessionId: out.SessionId, TokenValue: out.TokenValue, StreamUrl: out.StreamUrl };
  } catch (e) {
    throw describeAwsError(e, {
      action: `start a port-forwarding session on ${request.Target}`,
      profile: aws.profile,
      region: aws.region,
      target: request.Target,
    });
  }
}

export async function terminateSession(aws: AwsContext, sessionId: string): Promise<void> {
  try {
    await aws.ssm.send(new TerminateSessionCommand({ SessionId: sessionId }));
  } catch (e) {
    throw describeAwsError(e, { action: `terminate session ${sessionId}`, profile: aws.profile, region: aws.region });
  }
}

/**
 * A new token for a session whose data channel dropped (the native client reopens it with this);
 * undefined when the session is gone (it timed out or was terminated meanwhile).
 */
export async function resumeSession(aws: AwsContext, sessionId: string): Promise<string | undefined> {
  try {
    const out = await aws.ssm.send(new ResumeSessionCommand({ SessionId: sessionId }));
    if (out.TokenValue) registerSecret(out.TokenValue, 'session token');
    return out.TokenValue || undefined;
  } catch (e) {
    if ((e as { name?: string }).name === 'DoesNotExistException') return undefined;
    throw describeAwsError(e, { action: `resume session ${sessionId}`, profile: aws.profile, region: aws.region });
  }
}
