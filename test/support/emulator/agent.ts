// The agent's side of the data channel, for dbtunnel's native client: written from the protocol's
// description (docs/native-protocol.md), not from the client's code — the two meet only on the wire.
// The WebSocket upgrade must be signed (SigV4, ssmmessages, this region) with a principal's known keys;
// then the OpenDataChannel frame with the session's token; the handshake of a Port session; and smux
// v1 streams, each dialled to the destination the scenario maps the document's host:port to. It
// acknowledges, delivers in order, resends what is not acknowledged, and, when a test says so,
// ignores some of the client's messages (to make it resend) or sends its own out of order.
import { createHash, createHmac, randomUUID } from 'node:crypto';
import type http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { SignatureV4 } from '@smithy/signature-v4';
import { type WebSocket, WebSocketServer } from 'ws';
import type { Emulator } from '../emulator.js';
import type { EmuSession } from './model.js';

export interface EmuAgentBehaviour {
  /** Ignore (no acknowledgement, no delivery) every Nth stream message of the client's. */
  ignoreEvery?: number;
  /** Send each pair of the agent's stream messages in reverse order. */
  swapPairs?: boolean;
  /** Refuse connections to the destination (ConnectToPortError, then FIN). */
  refuseDestination?: boolean;
  /** Drop the socket (once) when the client's Nth stream message arrives, losing that message. */
  dropSocketAfter?: number;
  /** After the client's Nth stream message, pause its publication for `ms` (pause_publication, then start). */
  pausePublication?: { after: number; ms: number };
  /** Send the agent's first message with a digest that does not match its payload. */
  corruptDigest?: boolean;
  /** Send the agent's first message with a payload length beyond the frame. */
  lieAboutLength?: boolean;
  /** smux keepalive, where the agent keeps it on: its NOP interval; nothing heard for 3 of them ends the session. */
  smuxKeepAliveMs?: number;
}

export interface AgentRecord {
  sessionId: string;
  signature: 'valid' | 'missing' | 'invalid';
  principal?: string;
  openDataChannel?: Record<string, unknown>;
  handshake?: Record<string, unknown>;
  /** Stream messages of the client's it ignored, and duplicates it saw. */
  ignored: number;
  duplicates: number;
  terminatedByFlag: boolean;
  /** This socket resumed a session whose earlier socket dropped. */
  resumed?: boolean;
  /** Why OpenDataChannel was refused (IAM). */
  refused?: string;
  /** Stream messages of the client's that arrived while its publication was paused. */
  whilePaused?: number;
  /** The client's port data: how many messages, and the CreatedDate of the first and the last. */
  output?: { messages: number; first: number; last: number };
  /** How the agent forwards: smux streams, or basic mode's one connection at a time. */
  mode?: 'mux' | 'basic';
  /** Basic mode: connections made to the destination, DisconnectToPort flags received, why a dial failed. */
  basicDials?: number;
  disconnects?: number;
  basicFailure?: string;
  /** smux keepalive: whether this agent keeps it on, the client's NOPs received, and whether it timed out. */
  keepAlive?: boolean;
  nops?: number;
  keepAliveTimedOut?: boolean;
}

// ---- the wire, from the description's table ---------------------------------------------------------

interface Wire {
  type: string;
  seq: number;
  createdDate: number;
  flags: number;
  id: Buffer;
  payloadType: number;
  payload: Buffer;
}

function writeWire(type: string, seq: number, flags: number, payloadType: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(120);
  header.writeUInt32BE(116, 0);
  Buffer.from(type.padEnd(32, ' '), 'ascii').copy(header, 4);
  header.writeUInt32BE(1, 36);
  header.writeBigUInt64BE(BigInt(Date.now()), 40);
  header.writeBigInt64BE(BigInt(seq), 48);
  header.writeBigUInt64BE(BigInt(flags), 56);
  const id = Buffer.from(randomUUID().replace(/-/g, ''), 'hex');
  id.subarray(8).copy(header, 64);
  id.subarray(0, 8).copy(header, 72);
  createHash('sha256').update(payload).digest().copy(header, 80);
  header.writeUInt32BE(payloadType, 112);
  header.writeUInt32BE(payload.length, 116);
  return Buffer.concat([header, payload]);
}

function readWire(b: Buffer): Wire {
  const headerLength = b.readUInt32BE(0);
  const length = b.readUInt32BE(headerLength);
  const payload = b.subarray(headerLength + 4, headerLength + 4 + length);
  if (!createHash('sha256').update(payload).digest().equals(b.subarray(80, 112)) && length > 0) {
    throw new Error('digest mismatch');
  }
  return {
    type: b.subarray(4, 36).toString('ascii').trim(),
    seq: Number(b.readBigInt64BE(48)),
    createdDate: Number(b.readBigUInt64BE(40)),
    flags: Number(b.readBigUInt64BE(56)),
    id: Buffer.concat([b.subarray(72, 80), b.subarray(64, 72)]),
    payloadType: headerLength >= 116 ? b.readUInt32BE(112) : 0,
    payload,
  };
}

const canonical = (id: Buffer) => {
  const h = id.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
};

/** smux v1: version 1, command, length (LE 16), stream id (LE 32), data. */
function smuxFrame(cmd: number, sid: number, data: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(8);
  h[0] = 1;
  h[1] = cmd;
  h.writeUInt16LE(data.length, 2);
  h.writeUInt32LE(sid, 4);
  return Buffer.concat([h, data]);
}

// ---- SigV4 on the upgrade --------------------------------------------------------------------------

class Sha256 {
  private h;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.h = secret === undefined ? createHash('sha256') : createHmac('sha256', toBytes(secret));
  }
  update(d: string | ArrayBuffer | ArrayBufferView) {
    this.h.update(toBytes(d));
  }
  async digest() {
    return this.h.digest();
  }
}
function toBytes(d: string | ArrayBuffer | ArrayBufferView): string | Buffer {
  if (typeof d === 'string') return d;
  return ArrayBuffer.isView(d) ? Buffer.from(d.buffer, d.byteOffset, d.byteLength) : Buffer.from(d);
}

async function checkSignature(
  emu: Emulator,
  req: http.IncomingMessage,
): Promise<{ signature: AgentRecord['signature']; principal?: string }> {
  const auth = req.headers.authorization ?? '';
  const m =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(
      auth,
    );
  if (!m) return { signature: 'missing' };
  const [, key, , region, service, signedHeaders, signature] = m;
  const p = emu.principals.get(key!);
  const amzDate = String(req.headers['x-amz-date'] ?? '');
  const date = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!p || service !== 'ssmmessages' || region !== emu.region || !date) return { signature: 'invalid' };
  const url = new URL(req.url ?? '/', 'ws://placeholder');
  const headers: Record<string, string> = {};
  for (const h of signedHeaders!.split(';')) headers[h] = String(req.headers[h] ?? '');
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = v;
  const signer = new SignatureV4({
    service: 'ssmmessages',
    region: emu.region,
    credentials: {
      accessKeyId: p.accessKeyId,
      secretAccessKey: p.secretAccessKey,
      ...(p.sessionToken ? { sessionToken: p.sessionToken } : {}),
    },
    sha256: Sha256,
    applyChecksum: false,
  });
  const [, y, mo, d, hh, mi, ss] = date;
  const expected = await signer.sign(
    { method: 'GET', protocol: 'wss:', hostname: headers.host ?? '', path: url.pathname, query, headers },
    { signingDate: new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(hh), Number(mi), Number(ss))) },
  );
  const got = /Signature=([0-9a-f]{64})/.exec(String(expected.headers.authorization ?? ''))?.[1];
  return got === signature ? { signature: 'valid', principal: p.arn } : { signature: 'invalid' };
}

// ---- the session -----------------------------------------------------------------------------------

export function attachAgent(emu: Emulator, server: http.Server): void {
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req: http.IncomingMessage, sock: Duplex, head: Buffer) => {
    void (async () => {
      const id = /^\/v1\/data-channel\/([^/?]+)/.exec(req.url ?? '')?.[1];
      const session = id ? emu.sessions.get(decodeURIComponent(id)) : undefined;
      const check = await checkSignature(emu, req);
      const record: AgentRecord = {
        sessionId: session?.id ?? String(id),
        signature: check.signature,
        ignored: 0,
        duplicates: 0,
        terminatedByFlag: false,
        ...(check.principal ? { principal: check.principal } : {}),
      };
      emu.agentRecords.push(record);
      const refuse = emu.scenario.requireSignedDataChannel !== false && check.signature !== 'valid';
      if (!session || refuse) {
        sock.end(`HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
        return;
      }
      wss.handleUpgrade(req, sock, head, (ws) => agentSession(emu, session, ws, record));
    })();
  });
}

interface AgentState {
  ws: WebSocket;
  record: AgentRecord;
  nextSeq: number;
  expected: number;
  early: Map<number, Wire>;
  unacked: Map<number, { bytes: Buffer; at: number }>;
  held: Buffer | undefined;
  incoming: number;
  dropped: boolean;
  sockets: Map<number, net.Socket>;
  smuxBuffer: Buffer;
  opened: boolean;
  timer: NodeJS.Timeout;
  /** Until when the client's publication is paused (ms since the epoch). */
  pausedUntil?: number;
  /** Basic mode (no smux): the one connection to the destination, and what waits for it to connect. */
  basic?: boolean;
  basicSocket?: net.Socket | undefined;
  basicPending?: Buffer[] | undefined;
  /** Port data waiting for its turn (the agent sends a message, then sleeps 1 ms), and whether it is going. */
  paced: Buffer[];
  pacing: boolean;
  /** smux keepalive: when a frame from the client last came, and the timer. */
  heard?: number;
  keepAliveTimer?: NodeJS.Timeout;
}

/**
 * Whether the agent keeps smux keepalive on (its release notes): always before 3.1.1446.0; never from
 * then until 3.1.1575.0; from 3.1.1575.0 only for clients of 1.2.331.0 or older (agent port_mux.go).
 */
function keepsAlive(agent: string, client: string): boolean {
  if (!atLeast(agent, [3, 1, 1446, 0])) return true;
  if (!atLeast(agent, [3, 1, 1575, 0])) return false;
  return !atLeast(client, [1, 2, 331, 1]);
}

function atLeast(version: string, base: number[]): boolean {
  const parts = version.split('.').map(Number);
  for (let i = 0; i < base.length; i++) if ((parts[i] ?? 0) !== base[i]) return (parts[i] ?? 0) > base[i]!;
  return true;
}

/** The agent's side of a session outlives a socket: a client that resumes finds its state here. */
const states = new WeakMap<EmuSession, AgentState>();

function agentSession(emu: Emulator, s: EmuSession, ws: WebSocket, record: AgentRecord): void {
  const behaviour = emu.scenario.agent ?? {};
  const existing = states.get(s);
  const st: AgentState = existing ?? {
    ws,
    record,
    nextSeq: 0,
    expected: 0,
    early: new Map(),
    unacked: new Map(),
    held: undefined,
    incoming: 0,
    dropped: false,
    sockets: new Map(),
    smuxBuffer: Buffer.alloc(0),
    opened: false,
    paced: [],
    pacing: false,
    timer: setInterval(() => {
      if (st.ws.readyState !== st.ws.OPEN) return;
      if (st.held && st.unacked.size > 0) {
        st.ws.send(st.held); // a lone held message goes after a while all the same
        st.held = undefined;
      }
      for (const m of st.unacked.values()) if (Date.now() - m.at > 300) st.ws.send(m.bytes);
    }, 150).unref(),
  };
  if (existing) {
    existing.ws = ws;
    existing.record = record;
    record.resumed = true;
  }
  states.set(s, st);

  const inst = (emu.scenario.instances ?? []).find((i) => i.id === s.target);
  const agentVersion = inst?.agentVersion ?? '3.3.1142.0';
  const sendStream = (payloadType: number, payload: Buffer, flags = 0) => {
    const seq = st.nextSeq++;
    const bytes = writeWire('output_stream_data', seq, flags, payloadType, payload);
    if (seq === 0 && behaviour.corruptDigest) bytes.writeUInt8(bytes.readUInt8(80) ^ 0xff, 80);
    if (seq === 0 && behaviour.lieAboutLength) bytes.writeUInt32BE(0x7fffffff, 116);
    st.unacked.set(seq, { bytes, at: Date.now() });
    if (behaviour.swapPairs && seq > 0) {
      if (st.held) {
        st.ws.send(bytes);
        st.ws.send(st.held);
        st.held = undefined;
      } else st.held = bytes;
      return;
    }
    st.ws.send(bytes);
  };
  // Port data goes as the agent sends it: at most 1 KiB per message, then a 1 ms sleep (agent
  // port_mux.go transferDataToMgs, port_basic.go WritePump). The destinations are read no further
  // while much waits, as the agent's blocking reads would.
  const pump = () => {
    const next = st.paced.shift();
    if (!next) {
      st.pacing = false;
      return;
    }
    st.pacing = true;
    sendStream(1, next);
    if (st.paced.length < 64) {
      for (const socket of st.sockets.values()) socket.resume();
      st.basicSocket?.resume();
    }
    setTimeout(pump, 1).unref();
  };
  const sendPaced = (bytes: Buffer, from?: net.Socket) => {
    for (let at = 0; at < bytes.length; at += 1024) st.paced.push(bytes.subarray(at, at + 1024));
    if (st.paced.length > 256) from?.pause();
    if (!st.pacing) pump();
  };
  const sendSmux = (frame: Buffer, from?: net.Socket) => sendPaced(frame, from);
  const flag = (value: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(value, 0);
    sendStream(10, b);
  };

  const channel = {
    end(line?: string) {
      let text = 'Session terminated.';
      try {
        text = (JSON.parse(String(line ?? '{}')) as { text?: string }).text ?? text;
      } catch {
        // the default words
      }
      const payload = Buffer.from(JSON.stringify({ MessageType: 'channel_closed', SessionId: s.id, Output: text }));
      ws.send(writeWire('channel_closed', 0, 0, 0, payload), () => ws.close(1000, 'Bye'));
    },
    destroy() {
      ws.terminate();
    },
  };
  s.channels.add(channel);

  const onSmux = (bytes: Buffer) => {
    st.smuxBuffer = Buffer.concat([st.smuxBuffer, bytes]);
    while (st.smuxBuffer.length >= 8) {
      const length = st.smuxBuffer.readUInt16LE(2);
      if (st.smuxBuffer.length < 8 + length) return;
      const cmd = st.smuxBuffer[1];
      const sid = st.smuxBuffer.readUInt32LE(4);
      st.heard = Date.now();
      if (cmd === 3) st.record.nops = (st.record.nops ?? 0) + 1;
      const data = st.smuxBuffer.subarray(8, 8 + length);
      st.smuxBuffer = st.smuxBuffer.subarray(8 + length);
      if (cmd === 0) dial(sid);
      else if (cmd === 2) st.sockets.get(sid)?.write(Buffer.from(data));
      else if (cmd === 1) st.sockets.get(sid)?.end();
    }
  };
  const destination = () => {
    const dest = `${s.parameters.host?.[0]}:${s.parameters.portNumber?.[0]}`;
    return emu.scenario.network?.[dest] ?? dest;
  };
  const dial = (sid: number) => {
    const where = destination();
    const at = where.lastIndexOf(':');
    const refuse = () => {
      flag(3); // ConnectToPortError
      sendSmux(smuxFrame(1, sid));
    };
    if (behaviour.refuseDestination) return refuse();
    const socket = net.connect({ host: where.slice(0, at), port: Number(where.slice(at + 1)), allowHalfOpen: true });
    st.sockets.set(sid, socket);
    let connected = false;
    socket.on('connect', () => {
      connected = true;
    });
    socket.on('data', (chunk: Buffer) => {
      for (let i = 0; i < chunk.length; i += 1016) sendSmux(smuxFrame(2, sid, chunk.subarray(i, i + 1016)), socket);
    });
    socket.on('end', () => sendSmux(smuxFrame(1, sid)));
    socket.on('error', () => {
      st.sockets.delete(sid);
      if (!connected) refuse();
    });
  };

  // Basic mode: one connection to the destination, dialled as the session starts; the Output payloads of
  // both directions are its bytes, raw. When either side's connection closes, the next bytes from the
  // client dial again. A destination that cannot be reached at the start ends the session.
  const basicDial = () => {
    const where = destination();
    const at = where.lastIndexOf(':');
    const socket = net.connect({ host: where.slice(0, at), port: Number(where.slice(at + 1)) });
    st.basicSocket = socket;
    st.basicPending = [];
    socket.on('connect', () => {
      st.record.basicDials = (st.record.basicDials ?? 0) + 1;
      for (const b of st.basicPending ?? []) socket.write(b);
      st.basicPending = undefined;
    });
    socket.on('data', (chunk: Buffer) => {
      sendPaced(chunk, socket);
    });
    socket.on('close', () => {
      if (st.basicSocket === socket) st.basicSocket = undefined;
    });
    socket.on('error', (e) => {
      if (st.basicPending === undefined) return; // it was connected: the next bytes dial again
      // The agent's port plugin returns an error, at the start as on a later dial: the session is over.
      const text = `Unable to connect to specified port: dial tcp ${where}: ${e.message}`;
      st.record.basicFailure = text;
      s.status = 'Terminated';
      s.endedBy = 'aws';
      for (const c of s.channels) c.end(JSON.stringify({ text }));
    });
    if (behaviour.refuseDestination) socket.destroy(new Error('connect: connection refused'));
  };
  const basicWrite = (payload: Buffer) => {
    if (!st.basicSocket) basicDial();
    if (st.basicPending) st.basicPending.push(Buffer.from(payload));
    else st.basicSocket!.write(payload);
  };

  // smux keepalive on the agent's side (xtaci/smux keepalive): a NOP every interval, and the session
  // closed when no frame came from the client for three of them.
  const keepAlive = () => {
    const every = behaviour.smuxKeepAliveMs ?? 10_000;
    st.record.keepAlive = true;
    st.heard = Date.now();
    st.keepAliveTimer = setInterval(() => {
      if (s.status !== 'Connected') return clearInterval(st.keepAliveTimer);
      if (st.ws.readyState !== st.ws.OPEN) return; // dropped: the client may resume
      if (Date.now() - (st.heard ?? 0) > 3 * every) {
        clearInterval(st.keepAliveTimer);
        st.record.keepAliveTimedOut = true;
        for (const socket of st.sockets.values()) socket.destroy();
        s.status = 'Terminated';
        s.endedBy = 'aws';
        for (const c of s.channels) c.end(JSON.stringify({ text: 'Session terminated: the smux session timed out.' }));
        return;
      }
      sendSmux(smuxFrame(3, 0));
    }, every).unref();
  };

  const deliver = (m: Wire) => {
    if (m.payloadType === 6) {
      st.record.handshake = JSON.parse(m.payload.toString()) as Record<string, unknown>;
      const actions = (st.record.handshake.ProcessedClientActions ?? []) as { ActionStatus?: number }[];
      if (actions[0]?.ActionStatus !== 1) {
        st.ws.close(1000, 'handshake refused');
        return;
      }
      // Multiplexing needs both: an agent newer than 3.0.196.0 and a client of 1.1.70 or newer.
      const client = String(st.record.handshake.ClientVersion ?? '0');
      st.basic = !(atLeast(agentVersion, [3, 0, 196, 1]) && atLeast(client, [1, 1, 70]));
      st.record.mode = st.basic ? 'basic' : 'mux';
      sendStream(7, Buffer.from(JSON.stringify({ HandshakeTimeToComplete: 1_000_000, CustomerMessage: '' })));
      if (st.basic) basicDial();
      else if (keepsAlive(agentVersion, client)) keepAlive();
    } else if (m.payloadType === 1) {
      const output = st.record.output ?? { messages: 0, first: m.createdDate, last: m.createdDate };
      st.record.output = { messages: output.messages + 1, first: output.first, last: m.createdDate };
      if (st.basic) basicWrite(m.payload);
      else onSmux(m.payload);
    } else if (m.payloadType === 10 && m.payload.readUInt32BE(0) === 1 && st.basic) {
      // DisconnectToPort: the client's connection closed; ours closes too, and is dialled again on its next bytes.
      st.record.disconnects = (st.record.disconnects ?? 0) + 1;
      st.basicSocket?.destroy();
      st.basicSocket = undefined;
    } else if (m.payloadType === 10 && m.payload.readUInt32BE(0) === 2) {
      st.record.terminatedByFlag = true;
      if (s.status === 'Connected') {
        s.status = 'Terminated';
        s.endedBy = 'plugin';
      }
      st.ws.close(1000, 'terminated');
    }
  };

  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (!isBinary) {
      const open = JSON.parse(data.toString()) as Record<string, unknown>;
      st.record.openDataChannel = open;
      if (open.TokenValue !== s.token || s.status !== 'Connected') {
        ws.close(1008, 'invalid token');
        return;
      }
      // ssmmessages:OpenDataChannel, for the session's owner (as for the fake plugin's channel).
      const owner = [...emu.principals.values()].find((p) => p.arn === s.owner);
      const denied =
        owner &&
        emu.authorize(owner, 'ssmmessages:OpenDataChannel', emu.sessionArn(s.id), {
          'ssm:resourceTag/aws:ssmmessages:session-id': owner.userId,
        });
      if (denied) {
        st.record.refused = denied;
        ws.close(1008, 'access denied');
        return;
      }
      if (st.opened) {
        // A resumed channel: what the client has not acknowledged goes again on this socket.
        for (const m of st.unacked.values()) ws.send(m.bytes);
        return;
      }
      st.opened = true;
      sendStream(
        5,
        Buffer.from(
          JSON.stringify({
            AgentVersion: agentVersion,
            RequestedClientActions: [
              {
                ActionType: 'SessionType',
                ActionParameters: {
                  SessionType: 'Port',
                  Properties: {
                    type: 'LocalPortForwarding',
                    host: s.parameters.host?.[0],
                    portNumber: s.parameters.portNumber?.[0],
                    localPortNumber: s.parameters.localPortNumber?.[0],
                  },
                },
              },
            ],
          }),
        ),
        1,
      );
      return;
    }
    const m = readWire(data);
    if (m.type === 'acknowledge') {
      const ack = JSON.parse(m.payload.toString()) as { AcknowledgedMessageSequenceNumber: number };
      st.unacked.delete(ack.AcknowledgedMessageSequenceNumber);
      return;
    }
    if (m.type !== 'input_stream_data') return;
    st.incoming++;
    if (st.pausedUntil && Date.now() < st.pausedUntil - 20) st.record.whilePaused = (st.record.whilePaused ?? 0) + 1;
    const pause = behaviour.pausePublication;
    if (pause && st.incoming === pause.after) {
      st.pausedUntil = Date.now() + pause.ms;
      const control = (type: string) => writeWire(type, 0, 0, 0, Buffer.alloc(0));
      ws.send(control('pause_publication'));
      setTimeout(() => ws.send(control('start_publication')), pause.ms).unref();
    }
    if (behaviour.dropSocketAfter && st.incoming === behaviour.dropSocketAfter && !st.dropped) {
      st.dropped = true;
      ws.terminate(); // the network drops it: this message is lost with the socket
      return;
    }
    if (behaviour.ignoreEvery && st.incoming % behaviour.ignoreEvery === 0) {
      st.record.ignored++;
      return;
    }
    ws.send(
      writeWire(
        'acknowledge',
        0,
        3,
        0,
        Buffer.from(
          JSON.stringify({
            AcknowledgedMessageType: m.type,
            AcknowledgedMessageId: canonical(m.id),
            AcknowledgedMessageSequenceNumber: m.seq,
            IsSequentialMessage: true,
          }),
        ),
      ),
    );
    if (m.seq < st.expected || st.early.has(m.seq)) {
      st.record.duplicates++;
      return;
    }
    st.early.set(m.seq, m);
    for (let next = st.early.get(st.expected); next; next = st.early.get(st.expected)) {
      st.early.delete(st.expected);
      st.expected++;
      deliver(next);
    }
  });
  ws.on('close', () => {
    s.channels.delete(channel);
    // The session goes on after a dropped socket (the client may resume); it ends with the session.
    if (s.status !== 'Connected') {
      clearInterval(st.timer);
      for (const socket of st.sockets.values()) socket.destroy();
      st.basicSocket?.destroy();
      clearInterval(st.keepAliveTimer);
    }
  });
}
