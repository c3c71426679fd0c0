// IAM (query protocol, XML): SimulatePrincipalPolicy, answered by dbtunnel's evaluator, for doctor.
import type http from 'node:http';
import type { Emulator } from '../emulator.js';
import type { EmuPrincipal } from './model.js';
import { queryAnswers, xml } from './wire.js';

export function iam(
  emu: Emulator,
  action: string,
  req: http.IncomingMessage,
  form: URLSearchParams,
  res: http.ServerResponse,
) {
  const { fail, ok } = queryAnswers(res, 'https://iam.amazonaws.com/doc/2010-05-08/', action);
  const invalid: [string, string] = ['InvalidClientTokenId', 'The security token included in the request is invalid.'];
  const principal = emu.admit('iam', action, req, form, fail, { unknown: invalid, expired: invalid });
  if (!principal) return;
  if (action !== 'SimulatePrincipalPolicy')
    return fail('InvalidAction', `Could not find operation ${action} for version 2010-05-08`, 400);
  const source = form.get('PolicySourceArn') ?? '';
  const denied = emu.authorize(principal, 'iam:SimulatePrincipalPolicy', source);
  if (denied) return fail('AccessDenied', denied);
  const list = (prefix: string) =>
    [...form.entries()].filter(([k]) => new RegExp(`^${prefix}\\.member\\.\\d+$`).test(k)).map(([, v]) => v);
  const context: Record<string, string> = {};
  for (const [k, v] of form.entries()) {
    const m = /^ContextEntries\.member\.(\d+)\.ContextKeyName$/.exec(k);
    if (m) context[v] = form.get(`ContextEntries.member.${m[1]}.ContextKeyValues.member.1`) ?? '';
  }
  // The simulated identity: a user of this world, or a role's policies.
  const role = (emu.scenario.roles ?? []).find((r) => r.arn === source);
  const user = [...emu.principals.values()].find((p) => p.arn === source);
  if (!role && !user) return fail('NoSuchEntity', `The user or role with ARN ${source} cannot be found.`, 404);
  const subject: EmuPrincipal = {
    accessKeyId: 'simulated',
    secretAccessKey: 'simulated',
    arn: source,
    userId: context['aws:userid'] ?? '',
    policies: (role ?? user)!.policies ?? [{ Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] }],
    ...((role ?? user)!.boundary ? { boundary: (role ?? user)!.boundary! } : {}),
  };
  const members: string[] = [];
  for (const actionName of list('ActionNames')) {
    for (const resource of list('ResourceArns').length ? list('ResourceArns') : ['*']) {
      const why = emu.authorize(subject, actionName, resource, context);
      const decision = !why
        ? 'allowed'
        : /explicit deny/.test(why) && !/service control/.test(why)
          ? 'explicitDeny'
          : 'implicitDeny';
      members.push(
        `<member><EvalActionName>${actionName}</EvalActionName><EvalResourceName>${xml(resource)}</EvalResourceName><EvalDecision>${decision}</EvalDecision><MatchedStatements/><MissingContextValues/></member>`,
      );
    }
  }
  return ok(`<IsTruncated>false</IsTruncated><EvaluationResults>${members.join('')}</EvaluationResults>`);
}
