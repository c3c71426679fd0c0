// The native session client's wire formats, against bytes laid out by hand from the description
// (docs/native-protocol.md), not from the encoder: the data channel's message header, its digest and
// swapped message id, and smux v1 frames; then what a malformed frame from the network gets.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  acknowledgePayload,
  decodeMessage,
  encodeMessage,
  MalformedMessage,
  uuidFromWire,
  uuidToWire,
} from '../../src/native/message.js';
import { dataFrames, encodeFrame, SMUX_CMD, SmuxProtocolError, SmuxReader } from '../../src/native/smux.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** input_stream_data, schema 1, created 1700000000000 ms, sequence 5, flags 0, payload "hi" (type 1). */
const GOLDEN = hex(`
  00000074
  696e7075745f73747265616d5f64617461 202020202020202020202020202020
  00000001
  0000018bcfe56800
  0000000000000005
  0000000000000000
  8899aabbccddeeff 0011223344556677
  8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4
  00000001
  00000002
  6869
`);

describe('the data channel message', () => {
  const message = {
    messageType: 'input_stream_data',
    schemaVersion: 1,
    createdDate: 1_700_000_000_000,
    sequenceNumber: 5,
    flags: 0,
    messageId: '00112233-4455-6677-8899-aabbccddeeff',
    payloadType: 1,
    payload: Buffer.from('hi'),
  };

  it('encodes field by field as laid out: 116 header length, padded type, swapped id, SHA-256', () => {
    expect(GOLDEN.length).toBe(122);
    expect(encodeMessage(message).toString('hex')).toBe(GOLDEN.toString('hex'));
  });

  it('decodes the same bytes back', () => {
    expect(decodeMessage(GOLDEN)).toEqual(message);
  });

  it('the message id travels with its halves swapped', () => {
    expect(uuidToWire('00112233-4455-6677-8899-aabbccddeeff').toString('hex')).toBe('8899aabbccddeeff0011223344556677');
    expect(uuidFromWire(hex('8899aabbccddeeff0011223344556677'))).toBe('00112233-4455-6677-8899-aabbccddeeff');
  });

  it('channel_closed as the service sends it: header length 112 (no payload type), NUL-padded type', () => {
    const payload = Buffer.from('{"Output":"bye"}');
    const frame = Buffer.concat([
      hex('00000070'),
      Buffer.concat([Buffer.from('channel_closed'), Buffer.alloc(18)]),
      hex('00000001 0000018bcfe56800 0000000000000000 0000000000000000'),
      hex('8899aabbccddeeff 0011223344556677'),
      createHash('sha256').update(payload).digest(),
      hex('00000010'),
      payload,
    ]);
    expect(decodeMessage(frame)).toMatchObject({
      messageType: 'channel_closed',
      messageId: '00112233-4455-6677-8899-aabbccddeeff',
      payloadType: 0,
      payload,
    });
  });

  it.each([
    ['shorter than a header', GOLDEN.subarray(0, 100), /shorter than its header/],
    [
      'a header length that is neither 116 nor 112',
      Buffer.concat([hex('00000075'), GOLDEN.subarray(4)]),
      /header length 117/,
    ],
    [
      'a payload length beyond the frame',
      (() => {
        const b = Buffer.from(GOLDEN);
        b.writeUInt32BE(3, 116);
        return b;
      })(),
      /does not match/,
    ],
    [
      'a payload length far beyond any bound',
      (() => {
        const b = Buffer.from(GOLDEN);
        b.writeUInt32BE(0xffffffff, 116);
        return b;
      })(),
      /at most/,
    ],
    [
      'a wrong digest',
      (() => {
        const b = Buffer.from(GOLDEN);
        b.writeUInt8(b.readUInt8(80) ^ 1, 80);
        return b;
      })(),
      /digest does not match/,
    ],
  ])('%s: a clear error, never a crash', (_name, frame, error) => {
    expect(() => decodeMessage(frame)).toThrow(MalformedMessage);
    expect(() => decodeMessage(frame)).toThrow(error);
  });

  it("an acknowledge's payload names the message by type, canonical id and sequence", () => {
    expect(JSON.parse(acknowledgePayload(message).toString())).toEqual({
      AcknowledgedMessageType: 'input_stream_data',
      AcknowledgedMessageId: '00112233-4455-6677-8899-aabbccddeeff',
      AcknowledgedMessageSequenceNumber: 5,
      IsSequentialMessage: true,
    });
  });
});

describe('smux v1 frames', () => {
  it.each([
    ['SYN on stream 3', { cmd: SMUX_CMD.syn, streamId: 3, data: Buffer.alloc(0) }, '01 00 0000 03000000'],
    ['FIN on stream 5', { cmd: SMUX_CMD.fin, streamId: 5, data: Buffer.alloc(0) }, '01 01 0000 05000000'],
    [
      'PSH "hello" on stream 3',
      { cmd: SMUX_CMD.psh, streamId: 3, data: Buffer.from('hello') },
      '01 02 0500 03000000 68656c6c6f',
    ],
    ['NOP', { cmd: SMUX_CMD.nop, streamId: 0, data: Buffer.alloc(0) }, '01 03 0000 00000000'],
    [
      'length and stream id are little-endian',
      { cmd: SMUX_CMD.psh, streamId: 0x01020304, data: Buffer.alloc(0x0102) },
      `01 02 0201 04030201 ${'00'.repeat(0x0102)}`,
    ],
  ])('%s', (_name, frame, bytes) => {
    expect(encodeFrame(frame).toString('hex')).toBe(hex(bytes).toString('hex'));
    expect(new SmuxReader().push(hex(bytes))).toEqual([frame]);
  });

  it('frames are reassembled whatever the chunks (the agent cuts its stream every 1024 bytes)', () => {
    const stream = Buffer.concat([
      encodeFrame({ cmd: SMUX_CMD.syn, streamId: 3, data: Buffer.alloc(0) }),
      ...dataFrames(3, Buffer.alloc(5000, 7), 2048),
      encodeFrame({ cmd: SMUX_CMD.fin, streamId: 3, data: Buffer.alloc(0) }),
    ]);
    for (const size of [1, 3, 7, 1024, stream.length]) {
      const reader = new SmuxReader();
      const frames = [];
      for (let at = 0; at < stream.length; at += size) frames.push(...reader.push(stream.subarray(at, at + size)));
      expect(frames.map((f) => [f.cmd, f.data.length])).toEqual([
        [0, 0],
        [2, 2048],
        [2, 2048],
        [2, 904],
        [1, 0],
      ]);
      expect(reader.held).toBe(0);
    }
  });

  it.each([
    ['another version', '02 02 0000 03000000', /smux version 2/],
    ['an unknown command', '01 09 0000 03000000', /unknown smux command 9/],
    ['a frame over 32 KiB', '01 02 0180 03000000', /32769 bytes/],
  ])('%s ends the session with a clear error', (_name, bytes, error) => {
    expect(() => new SmuxReader().push(hex(bytes))).toThrow(SmuxProtocolError);
    expect(() => new SmuxReader().push(hex(bytes))).toThrow(error);
  });
});
