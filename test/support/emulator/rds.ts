// RDS (query protocol, XML answers): not emulated here. With an upstream (moto_server), each call is
// authorized here, refused as RDS refuses, and answered there when allowed; without one, refused as
// an unknown action, so that nothing is ever sent to AWS.
import type http from 'node:http';
import type { Emulator } from '../emulator.js';
import { forward, queryAnswers } from './wire.js';

export function rds(
  emu: Emulator,
  action: string,
  req: http.IncomingMessage,
  form: URLSearchParams,
  res: http.ServerResponse,
) {
  const { fail } = queryAnswers(res, 'http://rds.amazonaws.com/doc/2014-10-31/', action);
  const principal = emu.admit('rds', action, req, form, fail, {
    unknown: ['InvalidClientTokenId', 'The security token included in the request is invalid.'],
    expired: ['ExpiredToken', 'The security token included in the request is expired'],
  });
  if (!principal) return;
  const upstream = emu.scenario.upstream;
  if (!upstream) return fail('InvalidAction', `The action ${action} is not valid for this web service.`, 400);
  const denied = emu.authorize(principal, `rds:${action}`, undefined);
  if (denied) return fail('AccessDenied', denied, 403);
  forward(upstream, req, form.toString(), res);
}
