// The emulator's SSM agent side of a session's data channel, as the fake plugin speaks it: open with
// the session's token, keep the stream up until either side ends it, terminate on the plugin's word.
import type http from 'node:http';
import type { Emulator } from '../emulator.js';

export function dataChannel(
  emu: Emulator,
  id: string,
  op: 'open' | 'terminate',
  body: string,
  res: http.ServerResponse,
) {
  const s = emu.sessions.get(id);
  let token: string | undefined;
  try {
    token = (JSON.parse(body) as { TokenValue?: string }).TokenValue;
  } catch {
    token = undefined;
  }
  if (!s || token !== s.token) {
    res.writeHead(403).end(JSON.stringify({ message: 'invalid token' }));
    return;
  }
  if (op === 'terminate') {
    if (s.status === 'Connected') {
      s.status = 'Terminated';
      s.endedBy = 'plugin';
    }
    for (const c of s.channels) c.end();
    s.channels.clear();
    res.writeHead(200).end('{}');
    return;
  }
  const owner = [...emu.principals.values()].find((p) => p.arn === s.owner);
  const channelDenied =
    owner &&
    emu.authorize(owner, 'ssmmessages:OpenDataChannel', emu.sessionArn(id), {
      'ssm:resourceTag/aws:ssmmessages:session-id': owner.userId,
    });
  if (channelDenied) {
    res.writeHead(403).end(JSON.stringify({ message: channelDenied }));
    return;
  }
  if (emu.hangDataChannel) {
    s.channels.add(res);
    return;
  }
  if (s.status !== 'Connected') {
    res.writeHead(410).end(JSON.stringify({ message: 'session terminated' }));
    return;
  }
  const inst = (emu.scenario.instances ?? []).find((i) => i.id === s.target);
  const dest = `${s.parameters.host?.[0]}:${s.parameters.portNumber?.[0]}`;
  res.writeHead(200, { 'content-type': 'application/x-ndjson' });
  res.write(
    `${JSON.stringify({ type: 'open', destination: emu.scenario.network?.[dest] ?? dest, agentVersion: inst?.agentVersion ?? '3.3.1142.0' })}\n`,
  );
  s.channels.add(res);
  res.on('close', () => s.channels.delete(res));
}
