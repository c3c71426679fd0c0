// dbtunnel's own session client (docs/native-protocol.md): the data channel over a WebSocket whose
// upgrade request is signed with SigV4, the handshake of a Port session, then one smux stream per
// local TCP connection, with every stream message numbered, acknowledged and resent until
// acknowledged. To the tunnel it looks like the plugin: the same events, the same stop.
import { createHash, createHmac, randomUUID } from 'node:crypto';
import net from 'node:net';
import { SignatureV4 } from '@smithy/signature-v4';
import WebSocket from 'ws';
import { agentForWebSocket } from '../aws/network.js';
import type { Credentials, StartSessionResponse } from '../model.js';
import type { RunningSession, SessionEvent, SessionExit } from '../session-client.js';
import {
  acknowledgePayload,
  type ChannelMessage,
  decodeMessage,
  encodeMessage,
  FLAG,
  flagPayload,
  MalformedMessage,
  PAYLOAD_TYPE,
} from './message.js';
import { InboundOrder, Outbound, SequenceOverflow } from './sequencing.js';
import { encodeFrame, SMUX_CMD, SmuxProtocolError, SmuxReader } from './smux.js';

/**
 * What the agent is told this client is. It decides from this string to multiplex (≥ 1.1.70) and to
 * leave smux keepalive off (> 1.2.331.0), as it does for AWS's plugin of the same version.
 */
export const CLIENT_VERSION = '1.2.764.0';
/** Both sides send at most this much per message (AWS's plugin and agent). */
const PAYLOAD_BYTES = 1024;
const RESEND_CHECK_MS = 100;
/** About five minutes of resending the same message: the channel is gone. */
const MAX_RESENDS = 3000;
const PING_MS = 5 * 60_000;
/** Messages sent and not yet acknowledged before local clients are read no further (about 1 MiB). */
const SEND_WINDOW = 1024;
/** AWS's plugin sleeps this long after each message of port data. */
const PACE_MS = 1;
/** Bytes waiting for their turn before local clients are read no further, and again below this. */
const QUEUE_HIGH = 256 * 1024;
const QUEUE_LOW = 64 * 1024;
/** Agents up to this version forward one connection at a time (basic mode): no smux, the bytes raw. */
const LAST_BASIC_AGENT = [3, 0, 196, 0];
/**
 * Agents up to this version keep smux keepalive on (plugin config.go
 * TCPMultiplexingWithSmuxKeepAliveDisabledAfterThisAgentVersion): they close a session that has sent
 * them no frame for 30 s, so the client sends a NOP every 10 s, as AWS's plugin does for them.
 */
const LAST_KEEPALIVE_AGENT = [3, 1, 1511, 0];
/** smux's default keepalive interval. */
const SMUX_KEEPALIVE_MS = 10_000;

export interface NativeSessionOptions {
  response: StartSessionResponse;
  region: string;
  /** The caller's credentials, asked again at each (re)connection: an hour later they may have been renewed. */
  credentials: () => Promise<Credentials>;
  /** The local port to listen on (0: the system picks). */
  localPort: number;
  onEvent(e: SessionEvent): void;
  debug(message: string): void;
  /** ssm:ResumeSession: a new token for this session, or undefined when it is over. */
  resume?: (() => Promise<string | undefined>) | undefined;
  /** How often to send an smux NOP to agents that keep smux keepalive on (default: smux's 10 s). */
  smuxKeepAliveMs?: number;
}

const bytes = (d: string | ArrayBuffer | ArrayBufferView): string | Buffer =>
  typeof d === 'string'
    ? d
    : ArrayBuffer.isView(d)
      ? Buffer.from(d.buffer, d.byteOffset, d.byteLength)
      : Buffer.from(d);

/** SHA-256 and HMAC as the SigV4 signer wants them, from Node's crypto. */
class NodeSha256 {
  private readonly h: ReturnType<typeof createHash> | ReturnType<typeof createHmac>;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.h = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.h.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return this.h.digest();
  }
}

/** The headers that sign the WebSocket upgrade: SigV4, service ssmmessages, the session's region. */
export async function signedUpgradeHeaders(
  streamUrl: string,
  region: string,
  credentials: Credentials,
  now = new Date(),
): Promise<Record<string, string>> {
  const url = new URL(streamUrl);
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = v;
  const signer = new SignatureV4({
    service: 'ssmmessages',
    region,
    credentials,
    sha256: NodeSha256,
    applyChecksum: false,
  });
  const signed = await signer.sign(
    {
      method: 'GET',
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: url.pathname,
      query,
      headers: { host: url.host },
    },
    { signingDate: now },
  );
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(signed.headers)) if (k !== 'host') out[k] = String(v);
  return out;
}

function newerThan(version: string, base: number[]): boolean {
  const parts = version.split('.').map(Number);
  for (let i = 0; i < base.length; i++) if ((parts[i] ?? 0) !== base[i]) return (parts[i] ?? 0) > base[i]!;
  return false;
}

export function startNativeSession(opts: NativeSessionOptions): RunningSession {
  const { response, onEvent, debug } = opts;
  let lastOutput = '';
  const say = (text: string) => {
    lastOutput = text;
    debug(`native: ${text}`);
  };
  let finish!: (e: SessionExit) => void;
  const exited = new Promise<SessionExit>((resolve) => {
    finish = resolve;
  });
  let ended = false;
  const outbound = new Outbound<Buffer>();
  const inbound = new InboundOrder<ChannelMessage>();
  const smux = new SmuxReader();
  /** Local connections by smux stream id; `finSent`: our side of the stream is closed. */
  const streams = new Map<number, { socket: net.Socket; finSent: boolean }>();
  const paused = new Set<net.Socket>();
  let nextStream = 1;
  /** The local listeners: 127.0.0.1, and ::1 where the host has it. */
  const servers: net.Server[] = [];
  let socket: WebSocket | undefined;
  let resendTimer: NodeJS.Timeout | undefined;
  let pingTimer: NodeJS.Timeout | undefined;
  let keepAliveTimer: NodeJS.Timeout | undefined;

  const end = (event: SessionEvent | undefined, code = 0) => {
    if (ended) return;
    ended = true;
    clearInterval(resendTimer);
    clearTimeout(pacer);
    clearInterval(keepAliveTimer);
    clearInterval(pingTimer);
    for (const s of streams.values()) s.socket.destroy();
    streams.clear();
    basic?.current?.destroy();
    for (const c of basic?.waiting ?? []) c.destroy();
    for (const server of servers) server.close();
    socket?.terminate();
    if (event) onEvent(event);
    finish({ code, signal: undefined });
  };
  // A failure, not AWS's word: the run reconnects in on-failure mode too.
  const fail = (message: string) => {
    say(message);
    end({ type: 'failed', message }, 1);
  };

  // pause_publication: the service asks for a pause in what we send (the agent honours it, AWS's plugin
  // ignores it). Stream messages wait in the unacknowledged store and go on start_publication.
  let publicationPaused = false;
  const sendRaw = (bytes: Buffer) => {
    if (socket?.readyState === WebSocket.OPEN) socket.send(bytes);
  };
  const sendData = (bytes: Buffer) => {
    if (!publicationPaused) sendRaw(bytes);
  };
  const sendStream = (payloadType: number, payload: Buffer) => {
    try {
      const { message } = outbound.send(
        (sequenceNumber) =>
          encodeMessage({
            messageType: 'input_stream_data',
            createdDate: Date.now(),
            sequenceNumber,
            flags: 0,
            messageId: randomUUID(),
            payloadType,
            payload,
          }),
        Date.now(),
      );
      sendData(message);
    } catch (e) {
      if (!(e instanceof SequenceOverflow)) throw e;
      fail(`the data channel stopped acknowledging: ${e.message}`);
    }
  };
  // What local clients send goes out as AWS's plugin sends it: one message of at most 1 KiB, then 1 ms
  // before the next (plugin muxportforwarding.go transferDataToServer, basicportforwarding.go
  // ReadStream), until there is evidence that the service accepts more. The queue is a byte stream,
  // as the plugin's pipe from smux is: small frames share a message. A flag (basic mode's
  // DisconnectToPort) keeps its place behind the bytes before it.
  const queue: (Buffer | number)[] = [];
  let queued = 0;
  let pacer: NodeJS.Timeout | undefined;
  const pump = () => {
    pacer = undefined;
    if (ended || queue.length === 0) return;
    const head = queue[0]!;
    if (typeof head === 'number') {
      queue.shift();
      sendStream(PAYLOAD_TYPE.flag, flagPayload(head));
    } else {
      const parts: Buffer[] = [];
      let size = 0;
      while (size < PAYLOAD_BYTES && queue.length > 0 && typeof queue[0] !== 'number') {
        const b = queue[0] as Buffer;
        const take = Math.min(b.length, PAYLOAD_BYTES - size);
        parts.push(b.subarray(0, take));
        size += take;
        if (take === b.length) queue.shift();
        else queue[0] = b.subarray(take);
      }
      queued -= size;
      sendStream(PAYLOAD_TYPE.output, parts.length === 1 ? parts[0]! : Buffer.concat(parts, size));
    }
    resumeClients();
    pacer = setTimeout(pump, PACE_MS);
  };
  const sendPaced = (item: Buffer | number) => {
    queue.push(item);
    if (typeof item !== 'number') queued += item.length;
    if (!pacer) pump();
  };
  /** Flow control: read no more from a client while much waits to be sent or acknowledged. */
  const holdBack = (client: net.Socket) => {
    if (queued > QUEUE_HIGH || outbound.waiting > SEND_WINDOW) {
      client.pause();
      paused.add(client);
    }
  };
  const resumeClients = () => {
    if (paused.size === 0 || queued > QUEUE_LOW || outbound.waiting > SEND_WINDOW / 2) return;
    for (const c of paused) c.resume();
    paused.clear();
  };
  const sendSmux = (frame: Buffer) => sendPaced(frame);
  const acknowledge = (m: ChannelMessage) =>
    sendRaw(
      encodeMessage({
        messageType: 'acknowledge',
        createdDate: Date.now(),
        sequenceNumber: 0,
        flags: 3,
        messageId: randomUUID(),
        payloadType: PAYLOAD_TYPE.none,
        payload: acknowledgePayload(m),
      }),
    );

  /**
   * Basic mode, for agents of 3.0.196.0 or older: one connection at a time, its bytes as the Output
   * payloads. Like AWS's plugin, the next connection waits until the current one closes, and a closed
   * one is told to the agent (DisconnectToPort) so that it closes its own and dials again for the next.
   */
  let basic: { current: net.Socket | undefined; waiting: net.Socket[] } | undefined;
  const basicServe = (client: net.Socket) => {
    const b = basic!;
    if (b.current) {
      client.pause();
      b.waiting.push(client);
      client.on('close', () => {
        const i = b.waiting.indexOf(client);
        if (i >= 0) b.waiting.splice(i, 1);
      });
      return;
    }
    b.current = client;
    onEvent({ type: 'connection' });
    client.on('data', (chunk: Buffer) => {
      sendPaced(chunk);
      holdBack(client);
    });
    client.on('error', () => client.destroy());
    // No half-close in basic mode: the agent closes its connection on DisconnectToPort.
    client.on('end', () => client.destroy());
    client.on('close', () => {
      paused.delete(client);
      if (b.current !== client) return;
      b.current = undefined;
      if (!ended) sendPaced(FLAG.disconnectToPort);
      const next = b.waiting.shift();
      if (next) {
        basicServe(next);
        next.resume();
      }
    });
  };

  const accept = (client: net.Socket) => {
    if (basic) {
      basicServe(client);
      return;
    }
    nextStream += 2;
    const sid = nextStream;
    const stream = { socket: client, finSent: false };
    streams.set(sid, stream);
    onEvent({ type: 'connection' });
    sendSmux(encodeFrame({ cmd: SMUX_CMD.syn, streamId: sid, data: Buffer.alloc(0) }));
    client.on('data', (chunk: Buffer) => {
      for (let at = 0; at < chunk.length; at += PAYLOAD_BYTES - 8) {
        sendSmux(encodeFrame({ cmd: SMUX_CMD.psh, streamId: sid, data: chunk.subarray(at, at + PAYLOAD_BYTES - 8) }));
      }
      holdBack(client);
    });
    // The client has sent all it will: our side of the stream closes (its answer may still come).
    const finish = () => {
      if (stream.finSent || ended) return;
      stream.finSent = true;
      sendSmux(encodeFrame({ cmd: SMUX_CMD.fin, streamId: sid, data: Buffer.alloc(0) }));
    };
    client.on('end', finish);
    client.on('error', () => client.destroy());
    client.on('close', () => {
      finish();
      streams.delete(sid);
      paused.delete(client);
    });
  };

  /**
   * 127.0.0.1, then ::1 on the same port: a client that resolves "localhost" to either finds the
   * tunnel (AWS's plugin binds whichever one "localhost" gives it). A host without IPv6 has only the
   * first; a port that something else holds on ::1 is said in --debug and left to it.
   */
  const listen = () => {
    const v4 = net.createServer({ allowHalfOpen: true }, accept);
    servers.push(v4);
    let v4Listening = false;
    v4.on('error', (e: NodeJS.ErrnoException) => {
      // Once listening, an error is an accept that failed (too many open files): that client is lost, not the tunnel.
      if (v4Listening) return say(`127.0.0.1:${opts.localPort}: ${e.message}`);
      const why = e.code === 'EADDRINUSE' ? 'bind: address already in use' : e.message;
      fail(`listen tcp 127.0.0.1:${opts.localPort}: ${why}`);
    });
    v4.listen({ host: '127.0.0.1', port: opts.localPort, exclusive: true }, () => {
      v4Listening = true;
      const port = (v4.address() as net.AddressInfo).port;
      const ready = () => {
        if (ended) return;
        say(`Port ${port} opened for sessionId ${response.SessionId}.`);
        onEvent({ type: 'ready', port });
      };
      const v6 = net.createServer({ allowHalfOpen: true }, accept);
      let v6Listening = false;
      v6.on('error', (e: NodeJS.ErrnoException) => {
        if (v6Listening) return say(`[::1]:${port}: ${e.message}`);
        servers.splice(servers.indexOf(v6), 1);
        if (e.code === 'EADDRINUSE') say(`[::1]:${port} is held by another program: the tunnel is on 127.0.0.1 only`);
        ready();
      });
      servers.push(v6);
      v6.listen({ host: '::1', port, exclusive: true, ipv6Only: true }, () => {
        v6Listening = true;
        ready();
      });
    });
  };

  const onFrames = (payload: Buffer) => {
    for (const f of smux.push(payload)) {
      const stream = streams.get(f.streamId);
      if (f.cmd === SMUX_CMD.psh) stream?.socket.write(f.data);
      else if (f.cmd === SMUX_CMD.fin) stream?.socket.end(); // the agent's side is done: flush, then close ours
    }
  };

  const deliver = (m: ChannelMessage) => {
    switch (m.payloadType) {
      case PAYLOAD_TYPE.handshakeRequest: {
        const request = JSON.parse(m.payload.toString('utf8')) as {
          AgentVersion?: string;
          RequestedClientActions?: { ActionType?: string; ActionParameters?: { SessionType?: string } }[];
        };
        const agent = request.AgentVersion ?? '';
        say(`agent ${agent}`);
        if (!newerThan(agent, LAST_BASIC_AGENT)) {
          say(`agent ${agent || 'of an unknown version'} forwards one connection at a time (basic mode)`);
          basic = { current: undefined, waiting: [] };
        } else if (!newerThan(agent, LAST_KEEPALIVE_AGENT) && !keepAliveTimer) {
          say(`agent ${agent} keeps smux keepalive on: a NOP every ${opts.smuxKeepAliveMs ?? SMUX_KEEPALIVE_MS} ms`);
          keepAliveTimer = setInterval(
            () => sendSmux(encodeFrame({ cmd: SMUX_CMD.nop, streamId: 0, data: Buffer.alloc(0) })),
            opts.smuxKeepAliveMs ?? SMUX_KEEPALIVE_MS,
          );
        }
        const processed = (request.RequestedClientActions ?? []).map((a) => {
          const port = a.ActionType === 'SessionType' && a.ActionParameters?.SessionType === 'Port';
          return {
            ActionType: a.ActionType,
            ActionStatus: port ? 1 : 3,
            ActionResult: null,
            Error: port ? '' : 'unsupported',
          };
        });
        sendStream(
          PAYLOAD_TYPE.handshakeResponse,
          Buffer.from(JSON.stringify({ ClientVersion: CLIENT_VERSION, ProcessedClientActions: processed, Errors: [] })),
        );
        return;
      }
      case PAYLOAD_TYPE.handshakeComplete:
        if (servers.length === 0) listen();
        return;
      case PAYLOAD_TYPE.output:
        if (basic) basic.current?.write(m.payload);
        else onFrames(m.payload);
        return;
      case PAYLOAD_TYPE.flag: {
        const flag = m.payload.length >= 4 ? m.payload.readUInt32BE(0) : 0;
        if (flag === FLAG.connectToPortError) {
          say('Connection to destination port failed, check SSM Agent logs.');
          onEvent({ type: 'destination-failed' });
        }
        return;
      }
      default:
        return;
    }
  };

  const onMessage = (data: Buffer) => {
    let m: ChannelMessage;
    try {
      m = decodeMessage(data);
    } catch (e) {
      if (!(e instanceof MalformedMessage)) throw e;
      fail(`the data channel sent a malformed message: ${e.message}`);
      return;
    }
    switch (m.messageType) {
      case 'acknowledge': {
        const ack = JSON.parse(m.payload.toString('utf8')) as { AcknowledgedMessageSequenceNumber?: number };
        if (typeof ack.AcknowledgedMessageSequenceNumber === 'number') {
          outbound.acknowledged(ack.AcknowledgedMessageSequenceNumber, Date.now());
        }
        resumeClients();
        return;
      }
      case 'output_stream_data': {
        acknowledge(m);
        for (const next of inbound.accept(m.sequenceNumber, m).deliver) deliver(next);
        return;
      }
      case 'channel_closed': {
        let text = 'the data channel was closed';
        try {
          text = (JSON.parse(m.payload.toString('utf8')) as { Output?: string }).Output || text;
        } catch {
          // its words are not JSON: the generic ones
        }
        say(text);
        end({ type: 'ended', cause: 'aws', text });
        return;
      }
      case 'pause_publication':
        say('the service paused publication');
        publicationPaused = true;
        return;
      case 'start_publication':
        if (publicationPaused) {
          publicationPaused = false;
          for (const message of outbound.resendAll(Date.now())) sendRaw(message);
        }
        return;
      default:
        return;
    }
  };

  let opened = false; // the agent has spoken on this socket: a drop is resumed, not fatal
  let stopping = false;
  let resuming = false;

  /** Open (or reopen, after a drop) the data channel with `token`; the sequence state is kept. */
  const connect = async (token: string) => {
    const headers = await signedUpgradeHeaders(response.StreamUrl, opts.region, await opts.credentials());
    const agent = await agentForWebSocket(response.StreamUrl, process.env);
    if (ended) return;
    const ws = new WebSocket(response.StreamUrl, { headers, maxPayload: 128 * 1024, ...(agent ? { agent } : {}) });
    socket = ws;
    ws.on('open', () => {
      ws.send(
        JSON.stringify({
          MessageSchemaVersion: '1.0',
          RequestId: randomUUID(),
          TokenValue: token,
          ClientId: clientId,
          ClientVersion: CLIENT_VERSION,
        }),
      );
      ws.ping('keepalive');
      // What the old socket may have lost: everything not acknowledged, at once.
      for (const message of outbound.resendAll(Date.now())) ws.send(message);
    });
    ws.on('message', (data, isBinary) => {
      // The agent answered on this socket: it took the token, so a later drop is worth resuming.
      if (isBinary) opened = true;
      try {
        if (isBinary) onMessage(Buffer.isBuffer(data) ? data : Buffer.concat(data as Buffer[]));
      } catch (e) {
        const why = e instanceof SmuxProtocolError || e instanceof SequenceOverflow ? e.message : String(e);
        fail(`the data channel broke its protocol: ${why}`);
      }
    });
    ws.on('unexpected-response', (_req, res) => {
      ws.removeAllListeners('close');
      fail(`failed to open data channel: HTTP ${res.statusCode}`);
    });
    ws.on('error', () => {}); // 'close' follows, and decides
    ws.on('close', (code, reason) => {
      if (ended || stopping || ws !== socket) return;
      const text = `the data channel closed (${`${code} ${reason}`.trim()})`;
      if (!opened) return fail(text); // refused before the agent spoke: the tunnel did not open
      if (!opts.resume) {
        say(text);
        end({ type: 'ended', cause: 'exited', text }, 1);
        return;
      }
      void resume(`${code} ${reason}`.trim());
    });
  };

  /** The socket dropped: a new token from ResumeSession, the same session, up to 5 tries. */
  const resume = async (why: string) => {
    if (resuming) return;
    resuming = true;
    say(`the data channel dropped (${why}): resuming the session`);
    for (let attempt = 1, wait = 100 + Math.floor(Math.random() * 100); attempt <= 5; attempt++, wait *= 2) {
      await new Promise((r) => setTimeout(r, wait));
      if (ended) return;
      try {
        const token = await opts.resume!();
        if (!token) {
          end({ type: 'ended', cause: 'aws', text: 'The session is over: it could not be resumed.' }, 0);
          return;
        }
        opened = false;
        resuming = false;
        await connect(token);
        return;
      } catch (e) {
        say(`resume attempt ${attempt} failed: ${(e as Error).message}`);
      }
    }
    resuming = false;
    end({ type: 'ended', cause: 'exited', text: `the data channel dropped (${why}) and could not be resumed` }, 1);
  };

  const clientId = randomUUID();
  say(`Starting session with SessionId: ${response.SessionId}`);
  onEvent({ type: 'starting', sessionId: response.SessionId });
  pingTimer = setInterval(() => socket?.ping('keepalive'), PING_MS);
  resendTimer = setInterval(() => {
    const due = outbound.due(Date.now());
    if (!due) return;
    if (publicationPaused) return;
    if (due.resends > MAX_RESENDS) fail('the data channel stopped acknowledging (5 minutes of resending)');
    else sendRaw(due.message);
  }, RESEND_CHECK_MS);
  connect(response.TokenValue).catch((e: unknown) => fail(`could not open the data channel: ${(e as Error).message}`));

  return {
    pid: process.pid,
    exited,
    lastOutput: () => lastOutput,
    async stop() {
      if (!ended) {
        stopping = true;
        // Tell the agent, as the plugin does on SIGINT, then leave without waiting for an answer.
        sendStream(PAYLOAD_TYPE.flag, flagPayload(FLAG.terminateSession));
        await new Promise<void>((resolve) => {
          if (!socket || socket.readyState !== WebSocket.OPEN) return resolve();
          socket.once('close', () => resolve());
          socket.close(1000);
          setTimeout(resolve, 1000).unref();
        });
        end({ type: 'ended', cause: 'exited', text: `Exiting session with sessionId: ${response.SessionId}.` });
      }
      return { ...(await exited), forced: false };
    },
  };
}
