// EC2 (query protocol, XML answers): DescribeInstances with its filters, and its refusals with an
// encoded authorization message as EC2 writes them. With an upstream (moto_server), every action is
// authorized here and answered there.
import type http from 'node:http';
import type { Emulator } from '../emulator.js';
import { STATE_CODES } from './model.js';
import { INSIGHTS_ACTIONS, reachability } from './reachability.js';
import { ec2Filters, forward, globMatch, requestId, xml } from './wire.js';

export function ec2(
  emu: Emulator,
  action: string,
  req: http.IncomingMessage,
  form: URLSearchParams,
  res: http.ServerResponse,
) {
  const fail = (code: string, message: string, status = 400) => {
    res.writeHead(status, { 'content-type': 'text/xml;charset=UTF-8' });
    res.end(
      `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${code}</Code><Message>${xml(message)}</Message></Error></Errors><RequestID>${requestId()}</RequestID></Response>`,
    );
  };
  const principal = emu.admit('ec2', action, req, form, fail, {
    unknown: ['AuthFailure', 'AWS was not able to validate the provided access credentials', 401],
    expired: ['RequestExpired', 'Request has expired.'],
  });
  if (!principal) return;
  const insights = INSIGHTS_ACTIONS.has(action);
  if (action !== 'DescribeInstances' && !insights && !emu.scenario.upstream)
    return fail('InvalidAction', `The action ${action} is not valid for this web service.`);
  const denied = emu.authorize(principal, `ec2:${action}`, undefined);
  if (denied) {
    const encoded = Buffer.from(
      JSON.stringify({ allowed: false, action: `ec2:${action}`, principal: principal.arn }),
    ).toString('base64url');
    emu.encodedMessages.set(encoded, { action: `ec2:${action}`, principal: principal.arn });
    return fail(
      'UnauthorizedOperation',
      `You are not authorized to perform this operation. ${denied}. Encoded authorization failure message: ${encoded}`,
      403,
    );
  }

  if (insights) return reachability(emu, action, form, res, fail);
  if (emu.scenario.upstream) return forward(emu.scenario.upstream, req, form.toString(), res);

  const filters = ec2Filters(form);
  const ids = [...form.entries()].filter(([k]) => /^InstanceId\.\d+$/.test(k)).map(([, v]) => v);
  const matches = (emu.scenario.instances ?? []).filter((i) => {
    if (ids.length && !ids.includes(i.id)) return false;
    return filters.every(({ name, values }) => {
      if (name === 'instance-state-name') return values.includes(i.state ?? 'running');
      if (name === 'instance-id') return values.includes(i.id);
      if (name.startsWith('tag:')) {
        const v = i.tags?.[name.slice(4)];
        return v !== undefined && values.some((want) => globMatch(want, v));
      }
      return true;
    });
  });
  const items = matches
    .map(
      (
        i,
      ) => `<item><reservationId>r-${i.id.slice(2)}</reservationId><ownerId>${emu.account}</ownerId><groupSet/><instancesSet><item>
<instanceId>${i.id}</instanceId><imageId>ami-0123456789abcdef0</imageId>
<instanceState><code>${STATE_CODES[i.state ?? 'running']}</code><name>${i.state ?? 'running'}</name></instanceState>
<privateDnsName>ip-10-0-0-10.${emu.region}.compute.internal</privateDnsName><instanceType>t3.micro</instanceType>
<launchTime>${i.launchTime ?? '2026-01-01T00:00:00.000Z'}</launchTime>
<placement><availabilityZone>${emu.region}a</availabilityZone><tenancy>default</tenancy></placement>
<tagSet>${Object.entries(i.tags ?? {})
        .map(([k, v]) => `<item><key>${xml(k)}</key><value>${xml(v)}</value></item>`)
        .join('')}</tagSet></item></instancesSet></item>`,
    )
    .join('');
  res.writeHead(200, { 'content-type': 'text/xml;charset=UTF-8' });
  res.end(
    `<?xml version="1.0" encoding="UTF-8"?>\n<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>${requestId()}</requestId><reservationSet>${items}</reservationSet></DescribeInstancesResponse>`,
  );
}
