// SSM (JSON 1.1): StartSession, ResumeSession, TerminateSession, DescribeSessions,
// DescribeInstanceInformation, each authorized as AWS does (the instance and the document).
import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import type { Emulator } from '../emulator.js';
import { HOST_PATTERN, PORT_FORWARDING_DOCUMENT, type EmuPrincipal, type EmuSession } from './model.js';
import { callerName, requestId } from './wire.js';

export function ssm(emu: Emulator, action: string, req: http.IncomingMessage, body: string, res: http.ServerResponse) {
  const input = (body ? JSON.parse(body) : {}) as Record<string, unknown>;
  const { principal, error } = emu.caller(req);
  emu.record('ssm', action, input, principal);
  const fail = (code: string, message: string, status = 400) => {
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': requestId() });
    res.end(JSON.stringify({ __type: code, message }));
  };
  const ok = (out: unknown) => {
    res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': requestId() });
    res.end(JSON.stringify(out));
  };
  if (error === 'unknown')
    return fail('UnrecognizedClientException', 'The security token included in the request is invalid.');
  if (error === 'expired')
    return fail('ExpiredTokenException', 'The security token included in the request is expired');
  const injected = emu.injected(action);
  if (injected) return fail(injected.code, injected.message, injected.status);
  const denied = ssmDenied(emu, action, input, principal!);
  if (denied) return fail('AccessDeniedException', denied);

  switch (action) {
    case 'StartSession': {
      const targetId = String(input.Target ?? '');
      const doc = String(input.DocumentName ?? '');
      const params = (input.Parameters ?? {}) as Record<string, string[]>;
      const inst = (emu.scenario.instances ?? []).find((i) => i.id === targetId);
      if (doc !== PORT_FORWARDING_DOCUMENT) return fail('InvalidDocument', `Document with name ${doc} does not exist.`);
      for (const [k, v] of Object.entries(params)) {
        if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
          return fail('InvalidParameters', `Parameter "${k}" must be a list of strings.`);
        }
      }
      const host = params.host?.[0] ?? '';
      if (!HOST_PATTERN.test(host)) {
        return fail(
          'InvalidParameters',
          `Parameter "host" "${host}" failed to satisfy constraint: Member must satisfy regular expression pattern: ^[^,$^&\\(\\)!;'"<>\\\`{}\\[\\]\\|#=]{3,}$`,
        );
      }
      for (const k of ['portNumber', 'localPortNumber']) {
        if (params[k] && !/^\d+$/.test(params[k]![0] ?? ''))
          return fail('InvalidParameters', `Parameter "${k}" must be digits.`);
      }
      if (!inst || (inst.state ?? 'running') !== 'running' || (inst.ping ?? 'Online') !== 'Online') {
        return fail('TargetNotConnected', `${targetId} is not connected.`);
      }
      const id = `${callerName(principal!.arn)}-${randomBytes(9).toString('hex').slice(0, 17)}`;
      const token = `EMUTOKEN${randomBytes(24).toString('base64url')}`;
      const session: EmuSession = {
        id,
        target: targetId,
        owner: principal!.arn,
        documentName: doc,
        parameters: params,
        token,
        startedAt: new Date(),
        status: 'Connected',
        channels: new Set(),
      };
      emu.sessions.set(id, session);
      emu.tokens.push(token);
      if (emu.scenario.sessionEndsAfterMs) {
        const t = setTimeout(
          () => emu.endSession(id, 'Your session timed out due to inactivity and has been terminated.'),
          emu.scenario.sessionEndsAfterMs,
        );
        emu.timers.add(t);
      }
      return ok({ SessionId: id, TokenValue: token, StreamUrl: streamUrl(emu, id) });
    }
    case 'ResumeSession': {
      const s = emu.sessions.get(String(input.SessionId));
      if (s?.status !== 'Connected')
        return fail('DoesNotExistException', `Session ${String(input.SessionId)} does not exist.`);
      s.token = `EMUTOKEN${randomBytes(24).toString('base64url')}`;
      emu.tokens.push(s.token);
      return ok({ SessionId: s.id, TokenValue: s.token, StreamUrl: streamUrl(emu, s.id) });
    }
    case 'TerminateSession': {
      const s = emu.sessions.get(String(input.SessionId));
      if (s && s.status === 'Connected') {
        s.status = 'Terminated';
        s.endedBy = 'api';
        for (const c of s.channels) c.end(`${JSON.stringify({ type: 'end', text: 'Session terminated.' })}\n`);
        s.channels.clear();
      }
      return ok({ SessionId: String(input.SessionId) });
    }
    case 'DescribeSessions': {
      const state = String(input.State ?? 'Active');
      const filters = (input.Filters ?? []) as { key: string; value: string }[];
      const sessions = [...emu.sessions.values()]
        .filter((s) => (state === 'Active' ? s.status === 'Connected' : s.status !== 'Connected'))
        .filter((s) =>
          filters.every((f) =>
            f.key === 'Owner'
              ? s.owner === f.value
              : f.key === 'Target'
                ? s.target === f.value
                : f.key === 'SessionId'
                  ? s.id === f.value
                  : true,
          ),
        );
      return ok({
        Sessions: sessions.map((s) => ({
          SessionId: s.id,
          Target: s.target,
          Status: s.status,
          StartDate: s.startedAt.getTime() / 1000,
          Owner: s.owner,
          DocumentName: s.documentName,
        })),
      });
    }
    case 'DescribeInstanceInformation': {
      const filters = [
        ...((input.Filters ?? []) as { Key: string; Values: string[] }[]),
        ...((input.InstanceInformationFilterList ?? []) as { key: string; valueSet: string[] }[]).map((f) => ({
          Key: f.key,
          Values: f.valueSet,
        })),
      ];
      const ids = filters.find((f) => f.Key === 'InstanceIds')?.Values;
      const list = (emu.scenario.instances ?? [])
        .filter((i) => (i.state ?? 'running') !== 'terminated')
        .filter((i) => !ids || ids.includes(i.id))
        .map((i) => ({
          InstanceId: i.id,
          PingStatus: i.ping ?? 'Online',
          AgentVersion: i.agentVersion ?? '3.3.1142.0',
          PlatformType: 'Linux',
          ResourceType: 'EC2Instance',
          LastPingDateTime: Date.now() / 1000,
        }));
      return ok({ InstanceInformationList: list });
    }
    default:
      return fail('UnknownOperationException', `Unknown operation ${action}`);
  }
}

/** StartSession is authorized twice: the target instance, then the session document. */
export function ssmDenied(
  emu: Emulator,
  action: string,
  input: Record<string, unknown>,
  p: EmuPrincipal,
): string | undefined {
  const iamAction = `ssm:${action}`;
  if (action === 'StartSession') {
    const target = String(input.Target ?? '');
    const inst = (emu.scenario.instances ?? []).find((i) => i.id === target);
    const tags: Record<string, string> = {};
    for (const [k, v] of Object.entries(inst?.tags ?? {})) {
      tags[`ssm:resourceTag/${k}`] = v;
      tags[`aws:ResourceTag/${k}`] = v;
    }
    const doc = String(input.DocumentName ?? '');
    const docArn = `arn:aws:ssm:${emu.region}:${doc.startsWith('AWS-') ? '' : emu.account}:document/${doc}`;
    return emu.authorize(p, iamAction, emu.instanceArn(target), tags) ?? emu.authorize(p, iamAction, docArn);
  }
  if (action === 'TerminateSession' || action === 'ResumeSession') {
    const s = emu.sessions.get(String(input.SessionId));
    const context: Record<string, string> = s
      ? {
          'ssm:resourceTag/aws:ssmmessages:session-id': ownerUserId(emu, s),
          'ssm:resourceTag/aws:ssmmessages:target-id': s.target,
        }
      : {};
    return emu.authorize(p, iamAction, emu.sessionArn(String(input.SessionId)), context);
  }
  return emu.authorize(p, iamAction, undefined);
}

export function ownerUserId(emu: Emulator, s: EmuSession): string {
  return [...emu.principals.values()].find((p) => p.arn === s.owner)?.userId ?? '';
}

export function streamUrl(emu: Emulator, id: string): string {
  return `${emu.url.replace(/^http/, 'ws')}/v1/data-channel/${id}?role=publish_subscribe&cell-number=emulator`;
}
