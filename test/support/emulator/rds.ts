// RDS (query protocol, XML answers): not emulated here. With an upstream (moto_server), each call is
// authorized here, refused as RDS refuses, and answered there when allowed; without one, refused as
// an unknown action, so that nothing is ever sent to AWS.
import type http from 'node:http';
import type { Emulator } from '../emulator.js';
import { forward, requestId, xml } from './wire.js';

export function rds(
  emu: Emulator,
  action: string,
  req: http.IncomingMessage,
  form: URLSearchParams,
  res: http.ServerResponse,
) {
  const { principal, error } = emu.caller(req);
  emu.record('rds', action, Object.fromEntries(form), principal);
  const fail = (code: string, message: string, status = 400) => {
    res.writeHead(status, { 'content-type': 'text/xml' });
    res.end(
      `<ErrorResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${xml(message)}</Message></Error><RequestId>${requestId()}</RequestId></ErrorResponse>`,
    );
  };
  if (error === 'unknown')
    return fail('InvalidClientTokenId', 'The security token included in the request is invalid.', 403);
  if (error === 'expired') return fail('ExpiredToken', 'The security token included in the request is expired', 403);
  const injected = emu.injected(action);
  if (injected) return fail(injected.code, injected.message, injected.status ?? 403);
  const upstream = emu.scenario.upstream;
  if (!upstream) return fail('InvalidAction', `The action ${action} is not valid for this web service.`);
  const denied = emu.authorize(principal!, `rds:${action}`, undefined);
  if (denied) return fail('AccessDenied', denied, 403);
  forward(upstream, req, form.toString(), res);
}
