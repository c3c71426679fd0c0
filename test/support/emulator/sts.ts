// STS (query protocol, XML): GetCallerIdentity, AssumeRole (with MFA), DecodeAuthorizationMessage.
import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import type { Emulator } from '../emulator.js';
import type { EmuPrincipal } from './model.js';
import { accountOf, queryAnswers, xml } from './wire.js';

export function sts(
  emu: Emulator,
  action: string,
  req: http.IncomingMessage,
  form: URLSearchParams,
  res: http.ServerResponse,
) {
  const { fail, ok } = queryAnswers(res, 'https://sts.amazonaws.com/doc/2011-06-15/', action);
  const p = emu.admit('sts', action, req, form, fail, {
    unknown: ['InvalidClientTokenId', 'The security token included in the request is invalid.'],
    expired: ['ExpiredToken', 'The security token included in the request is expired', 400],
  });
  if (!p) return;
  if (action === 'GetCallerIdentity') {
    return ok(`<Arn>${p.arn}</Arn><UserId>${p.userId}</UserId><Account>${accountOf(p.arn)}</Account>`);
  }
  if (action === 'AssumeRole') {
    const roleArn = form.get('RoleArn') ?? '';
    const sessionName = form.get('RoleSessionName') ?? '';
    const role = (emu.scenario.roles ?? []).find((r) => r.arn === roleArn);
    if (!role)
      return fail(
        'AccessDenied',
        `User: ${p.arn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
      );
    if (role.mfaSerial && (form.get('SerialNumber') !== role.mfaSerial || form.get('TokenCode') !== role.mfaCode)) {
      return fail('AccessDenied', 'MultiFactorAuthentication failed with invalid MFA one time pass code. ');
    }
    const roleName = roleArn.split('/').at(-1)!;
    const account = accountOf(roleArn);
    const assumed: EmuPrincipal = {
      accessKeyId: `ASIA${randomBytes(8).toString('hex').toUpperCase()}`,
      secretAccessKey: randomBytes(20).toString('base64url'),
      sessionToken: `EMUSTS${randomBytes(24).toString('base64url')}`,
      arn: `arn:aws:sts::${account}:assumed-role/${roleName}/${sessionName}`,
      userId: `AROAEMULATOR${roleName.toUpperCase().slice(0, 8)}:${sessionName}`,
      ...(role.policies ? { policies: role.policies } : {}),
      ...(role.boundary ? { boundary: role.boundary } : {}),
    };
    emu.principals.set(assumed.accessKeyId, assumed);
    const expires = new Date(Date.now() + Number(form.get('DurationSeconds') ?? 3600) * 1000).toISOString();
    return ok(
      `<Credentials><AccessKeyId>${assumed.accessKeyId}</AccessKeyId><SecretAccessKey>${assumed.secretAccessKey}</SecretAccessKey><SessionToken>${assumed.sessionToken}</SessionToken><Expiration>${expires}</Expiration></Credentials><AssumedRoleUser><Arn>${assumed.arn}</Arn><AssumedRoleId>${assumed.userId}</AssumedRoleId></AssumedRoleUser>`,
    );
  }
  if (action === 'DecodeAuthorizationMessage') {
    const denied = emu.authorize(p, 'sts:DecodeAuthorizationMessage', undefined);
    if (denied) return fail('AccessDenied', denied);
    const known = emu.encodedMessages.get(form.get('EncodedMessage') ?? '');
    if (!known) return fail('InvalidAuthorizationMessageException', 'The encoded message is not valid.', 400);
    const decoded = JSON.stringify({
      allowed: false,
      explicitDeny: false,
      matchedStatements: { items: [] },
      failures: { items: [] },
      context: {
        principal: { arn: known.principal },
        action: known.action,
        resource: '*',
        conditions: { items: [] },
      },
    });
    return ok(`<DecodedMessage>${xml(decoded)}</DecodedMessage>`);
  }
  return fail('InvalidAction', `Could not find operation ${action} for version 2011-06-15`, 400);
}
