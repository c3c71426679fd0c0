// The SSM data channel's binary message (docs/native-protocol.md §message): a fixed header, the
// payload's SHA-256, a message id whose two halves travel swapped, and the payload. Encoding and
// decoding are pure; every length read from the wire is checked against the bytes there and a bound.
import { createHash } from 'node:crypto';

/** What the data channel's messages say they are (the header's MessageType, 32 ASCII bytes). */
export const MESSAGE_TYPES = [
  'input_stream_data',
  'output_stream_data',
  'acknowledge',
  'channel_closed',
  'start_publication',
  'pause_publication',
] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

/** The payload's kind (the header's PayloadType). */
export const PAYLOAD_TYPE = {
  none: 0,
  output: 1,
  error: 2,
  size: 3,
  parameter: 4,
  handshakeRequest: 5,
  handshakeResponse: 6,
  handshakeComplete: 7,
  encChallengeRequest: 8,
  encChallengeResponse: 9,
  flag: 10,
  stdErr: 11,
  exitCode: 12,
} as const;

/** A Flag payload's value (a big-endian uint32). */
export const FLAG = { disconnectToPort: 1, terminateSession: 2, connectToPortError: 3 } as const;

export interface ChannelMessage {
  /** As received: one of MESSAGE_TYPES, or what an unknown sender wrote (ignored by the caller). */
  messageType: string;
  schemaVersion: number;
  /** Milliseconds since the epoch. */
  createdDate: number;
  sequenceNumber: number;
  flags: number;
  /** The canonical UUID (8-4-4-4-12), halves back in order. */
  messageId: string;
  payloadType: number;
  payload: Buffer;
}

/** The header as sent: HeaderLength counts up to (not including) PayloadLength. */
export const HEADER_LENGTH = 116;
const TYPE_BYTES = 32;
/** The largest payload dbtunnel accepts from the wire (the agent and the plugin send at most 1 KiB). */
export const MAX_PAYLOAD_BYTES = 64 * 1024;

/** The UUID's 16 bytes as they travel: canonical bytes 8–15, then 0–7. Pure. */
export function uuidToWire(uuid: string): Buffer {
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new Error(`not a UUID: ${uuid}`);
  const canonical = Buffer.from(hex, 'hex');
  return Buffer.concat([canonical.subarray(8, 16), canonical.subarray(0, 8)]);
}

export function uuidFromWire(wire: Buffer): string {
  const hex = Buffer.concat([wire.subarray(8, 16), wire.subarray(0, 8)]).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function encodeMessage(m: Omit<ChannelMessage, 'schemaVersion'> & { schemaVersion?: number }): Buffer {
  if (m.messageType.length > TYPE_BYTES || !/^[\x20-\x7e]*$/.test(m.messageType)) {
    throw new Error(`not a message type: ${m.messageType}`);
  }
  const out = Buffer.alloc(HEADER_LENGTH + 4 + m.payload.length);
  out.writeUInt32BE(HEADER_LENGTH, 0);
  out.write(m.messageType.padEnd(TYPE_BYTES, ' '), 4, 'ascii');
  out.writeUInt32BE(m.schemaVersion ?? 1, 36);
  out.writeBigUInt64BE(BigInt(m.createdDate), 40);
  out.writeBigInt64BE(BigInt(m.sequenceNumber), 48);
  out.writeBigUInt64BE(BigInt(m.flags), 56);
  uuidToWire(m.messageId).copy(out, 64);
  createHash('sha256').update(m.payload).digest().copy(out, 80);
  out.writeUInt32BE(m.payloadType, 112);
  out.writeUInt32BE(m.payload.length, 116);
  m.payload.copy(out, 120);
  return out;
}

export class MalformedMessage extends Error {}

/**
 * A message from the wire. The payload starts at HeaderLength + 4 (the service's `channel_closed`
 * has no PayloadType, HeaderLength 112); its length must fit the frame and the bound, and its
 * digest must match when there is a payload. Throws MalformedMessage. Pure.
 */
export function decodeMessage(frame: Buffer): ChannelMessage {
  if (frame.length < 116) throw new MalformedMessage(`a message of ${frame.length} bytes is shorter than its header`);
  const headerLength = frame.readUInt32BE(0);
  if (headerLength !== 112 && headerLength !== HEADER_LENGTH) {
    throw new MalformedMessage(`header length ${headerLength} (expected 116, or 112 without a payload type)`);
  }
  const payloadLength = frame.readUInt32BE(headerLength);
  const start = headerLength + 4;
  if (payloadLength > MAX_PAYLOAD_BYTES) {
    throw new MalformedMessage(`a payload of ${payloadLength} bytes (at most ${MAX_PAYLOAD_BYTES})`);
  }
  if (start + payloadLength !== frame.length) {
    throw new MalformedMessage(`payload length ${payloadLength} does not match the ${frame.length - start} bytes sent`);
  }
  const payload = frame.subarray(start, start + payloadLength);
  const digest = frame.subarray(80, 112);
  if (payloadLength > 0 && !createHash('sha256').update(payload).digest().equals(digest)) {
    throw new MalformedMessage('the payload digest does not match');
  }
  const created = frame.readBigUInt64BE(40);
  const sequence = frame.readBigInt64BE(48);
  return {
    messageType: frame
      .subarray(4, 36)
      .toString('latin1')
      .replace(/[\0\s]+$/, '')
      .replace(/^[\0\s]+/, ''),
    schemaVersion: frame.readUInt32BE(36),
    createdDate: Number(created),
    sequenceNumber: Number(sequence),
    flags: Number(frame.readBigUInt64BE(56)),
    messageId: uuidFromWire(frame.subarray(64, 80)),
    payloadType: headerLength === HEADER_LENGTH ? frame.readUInt32BE(112) : PAYLOAD_TYPE.none,
    payload: Buffer.from(payload),
  };
}

/** A Flag payload (DisconnectToPort, TerminateSession, ConnectToPortError). */
export function flagPayload(flag: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(flag, 0);
  return b;
}

/** An acknowledge's JSON payload for a received stream message. */
export function acknowledgePayload(m: Pick<ChannelMessage, 'messageType' | 'messageId' | 'sequenceNumber'>): Buffer {
  return Buffer.from(
    JSON.stringify({
      AcknowledgedMessageType: m.messageType,
      AcknowledgedMessageId: m.messageId,
      AcknowledgedMessageSequenceNumber: m.sequenceNumber,
      IsSequentialMessage: true,
    }),
  );
}
