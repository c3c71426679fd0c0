// @ts-check
// A stand-in for AWS's session-manager-plugin, following docs/aws-facts.md §plugin: the argv/env contract,
// `--version`, the real lines in multiplexed and basic mode, listening on localhost:<port> and
// piping bytes to the destination the emulator's "agent" names, `Cannot perform start session` on a
// busy port (exit 0, as the real one), and SIGINT (tells the agent, exits 0) vs SIGTERM (dies).
//
// Environment knobs (tests set them in dbtunnel's environment, which the plugin inherits):
//   FAKE_PLUGIN_VERSION      what --version prints (default 1.2.835.0)
//   FAKE_PLUGIN_RECORD_DIR   write {argv, env, pid, ppid} of each run there, as JSON
//   FAKE_PLUGIN_BIND         '::1' to bind only IPv6 loopback (as seen on some macOS hosts)
//   FAKE_PLUGIN_IGNORE_SIGINT  '1': ignore SIGINT (to test the SIGKILL fallback)
//   FAKE_PLUGIN_CRASH_AFTER_MS  exit 2 this long after opening the port, without a word
//   FAKE_PLUGIN_BUSY_PORTS   comma-separated local ports to treat as taken by someone else (a race)
//   FAKE_PLUGIN_PRINT_TOKEN  '1': print the session token on stdout and stderr (no real plugin does;
//                            dbtunnel's --debug shows the plugin's lines and must not show it)
//   FAKE_PLUGIN_LEAK         '1': print every secret it holds (the StartSession response with its
//                            token, AWS keys from its environment, proxy URLs) on stdout and stderr,
//                            then exit 1 — the worst a plugin could do, for the redaction's tests
//   FAKE_PLUGIN_GO_PIPES     '1': die on the spot when writing to a stdout nobody reads any more, as the
//                            real plugin (a Go program) does: Go exits on SIGPIPE for fd 1 and 2
import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';

// By require(), as dbtunnel's bundle does: on Node 22, an ES module import of node:http reads its lazy
// WebSocket export, which loads undici (~50 ms of every start of this stand-in for a Go program).
/** @type {typeof import('node:http')} */
const http = createRequire(import.meta.url)('node:http');

const RESPONSE_ENV = 'AWS_SSM_START_SESSION_RESPONSE';
const version = process.env.FAKE_PLUGIN_VERSION ?? '1.2.835.0';
const args = process.argv.slice(2);

if (args[0] === '--version') {
  process.stdout.write(`${version}\n`);
  process.exit(0);
}

if (process.env.FAKE_PLUGIN_RECORD_DIR) {
  const file = path.join(process.env.FAKE_PLUGIN_RECORD_DIR, `plugin-${Date.now()}-${process.pid}.json`);
  fs.writeFileSync(file, JSON.stringify({ argv: args, env: { ...process.env }, pid: process.pid, ppid: process.ppid }));
}

const [first = '', , operation = '', , requestJson = '{}'] = args;
if (args.length < 6 || operation !== 'StartSession') {
  process.stdout.write(`Invalid arguments: expected <response> <region> StartSession <profile> <request> <endpoint>\n`);
  process.exit(1);
}

/** @type {{SessionId: string, TokenValue: string, StreamUrl: string}} */
let response;
if (first.startsWith(RESPONSE_ENV)) {
  response = JSON.parse(process.env[first] ?? '{}');
  delete process.env[first];
} else {
  response = JSON.parse(first);
}
/** @type {{Target: string, DocumentName: string, Parameters: Record<string, string[]>}} */
const request = JSON.parse(requestJson);
const sessionId = response.SessionId;
const localPort = Number(request.Parameters.localPortNumber?.[0] ?? '0');
const out = (/** @type {string} */ s) => {
  if (process.env.FAKE_PLUGIN_GO_PIPES !== '1') return process.stdout.write(s);
  try {
    fs.writeSync(1, s);
  } catch (e) {
    if (/** @type {NodeJS.ErrnoException} */ (e).code === 'EPIPE') process.exit(141); // 128 + SIGPIPE, nothing else said
    throw e;
  }
  return true;
};
// Once dbtunnel is gone its end of the pipe is closed; what the plugin prints then goes nowhere.
process.stdout.on('error', () => {});

out(`\nStarting session with SessionId: ${sessionId}\n`);
if (process.env.FAKE_PLUGIN_PRINT_TOKEN === '1') {
  out(`token ${response.TokenValue}\n`);
  process.stderr.write(`token ${response.TokenValue}\n`);
}

if (process.env.FAKE_PLUGIN_LEAK === '1') {
  const held = [
    `response ${JSON.stringify(response)}`,
    `token ${response.TokenValue}`,
    ...['AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'HTTPS_PROXY', 'HTTP_PROXY'].map(
      (k) => `${k}=${process.env[k] ?? ''}`,
    ),
  ].join('\n');
  out(`${held}\n`);
  process.stderr.write(`${held}\n`);
  process.exit(1);
}

const channelBase = response.StreamUrl.replace(/^ws/, 'http').replace(/\?.*$/, '');
/** @type {net.Server | undefined} */
let server;
let ending = false;

function post(/** @type {string} */ suffix) {
  return http.request(`${channelBase}/${suffix}`, { method: 'POST', headers: { 'content-type': 'application/json' } });
}

function exitSession(/** @type {string} */ text) {
  if (ending) return;
  ending = true;
  server?.close();
  out(text);
  process.exit(0);
}

// Open the data channel. An unreachable StreamUrl hangs forever, as the real plugin does.
const open = post('open');
open.on('error', () => {});
open.on('response', (res) => {
  if (res.statusCode !== 200) {
    out(`Cannot perform start session: failed to open data channel: HTTP ${res.statusCode}\n`);
    process.exit(0);
  }
  res.setEncoding('utf8');
  let buf = '';
  res.on('data', (chunk) => {
    buf += chunk;
    for (let nl = buf.indexOf('\n'); nl !== -1; nl = buf.indexOf('\n')) {
      const msg = JSON.parse(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
      if (msg.type === 'open') listen(msg.destination, msg.agentVersion);
      if (msg.type === 'end') exitSession(`\n\nSessionId: ${sessionId} : ${msg.text}\n\n`);
    }
  });
  res.on('end', () => exitSession(`\n\nExiting session with sessionId: ${sessionId}.\n\n`));
});
open.end(JSON.stringify({ TokenValue: response.TokenValue }));

function newerThan(/** @type {string} */ v, /** @type {number[]} */ base) {
  const parts = v.split('.').map(Number);
  for (let i = 0; i < 4; i++) if ((parts[i] ?? 0) !== base[i]) return (parts[i] ?? 0) > (base[i] ?? 0);
  return false;
}

function listen(/** @type {string} */ destination, /** @type {string} */ agentVersion) {
  const mux = newerThan(agentVersion, [3, 0, 196, 0]);
  const bindHost = process.env.FAKE_PLUGIN_BIND === '::1' ? '::1' : '127.0.0.1';
  const [destHost, destPort] = [
    destination.slice(0, destination.lastIndexOf(':')),
    Number(destination.slice(destination.lastIndexOf(':') + 1)),
  ];
  // Half-open both ways: a client that has sent all it will (FIN) still gets the answer, as the real
  // plugin forwards a half-close rather than closing the connection.
  server = net.createServer({ allowHalfOpen: true }, (client) => {
    out(mux ? `\nConnection accepted for session [${sessionId}]\n` : `Connection accepted for session ${sessionId}.\n`);
    const upstream = net.connect({ host: destHost, port: destPort, allowHalfOpen: true });
    upstream.on('connect', () => {
      client.pipe(upstream);
      upstream.pipe(client);
    });
    upstream.on('error', () => {
      out('\nConnection to destination port failed, check SSM Agent logs.\n');
      client.destroy();
    });
    client.on('error', () => upstream.destroy());
  });
  server.on('error', (/** @type {NodeJS.ErrnoException} */ e) => {
    const why = e.code === 'EADDRINUSE' ? 'bind: address already in use' : e.message;
    const shown = bindHost.includes(':') ? `[${bindHost}]` : bindHost;
    out(`Cannot perform start session: listen tcp ${shown}:${localPort}: ${why}\n`);
    process.exit(0);
  });
  const busy = (process.env.FAKE_PLUGIN_BUSY_PORTS ?? '').split(',').filter(Boolean).map(Number);
  if (busy.includes(localPort)) {
    server.emit('error', Object.assign(new Error('bind: address already in use'), { code: 'EADDRINUSE' }));
    return;
  }
  server.listen({ host: bindHost, port: localPort, exclusive: true }, () => {
    const port = /** @type {net.AddressInfo} */ (/** @type {net.Server} */ (server).address()).port;
    if (mux) out(`Port ${port} opened for sessionId ${sessionId}.`);
    else out(`Port ${port} opened for sessionId ${sessionId}.\n`);
    if (mux) out('\nWaiting for connections...\n');
    const crashAfter = Number(process.env.FAKE_PLUGIN_CRASH_AFTER_MS ?? 0);
    if (crashAfter > 0) setTimeout(() => process.exit(2), crashAfter);
  });
}

function onTerminateSignal() {
  if (process.env.FAKE_PLUGIN_IGNORE_SIGINT === '1') return;
  out('Terminate signal received, exiting.\n');
  // Tell the agent over the data channel, as the real plugin does, then leave.
  const req = post('terminate');
  const done = () => exitSession(`\n\nExiting session with sessionId: ${sessionId}.\n\n`);
  req.on('response', (r) => {
    r.resume();
    r.on('end', done);
  });
  req.on('error', done);
  req.end(JSON.stringify({ TokenValue: response.TokenValue }));
}
// The real plugin treats SIGINT, SIGQUIT and SIGTSTP alike; SIGTERM keeps its default (death).
for (const sig of /** @type {const} */ (['SIGINT', 'SIGQUIT', 'SIGTSTP'])) process.on(sig, onTerminateSignal);
