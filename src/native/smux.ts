// smux v1 frames (docs/native-protocol.md §smux): what the data channel's Output payloads carry, one
// continuous byte stream per direction, in which message boundaries and frame boundaries do not meet.
// An 8-byte header (version, command, length little-endian, stream id little-endian), then the data.
// Pure: the reader keeps only the bytes of one unfinished frame.

export const SMUX_VERSION = 1;
export const SMUX_CMD = { syn: 0, fin: 1, psh: 2, nop: 3 } as const;
export type SmuxCommand = (typeof SMUX_CMD)[keyof typeof SMUX_CMD];
const HEADER = 8;
/** The largest frame either side sends (smux's default MaxFrameSize). */
export const MAX_FRAME_DATA = 32768;

export interface SmuxFrame {
  cmd: SmuxCommand;
  streamId: number;
  data: Buffer;
}

export function encodeFrame(f: SmuxFrame): Buffer {
  if (f.data.length > MAX_FRAME_DATA) throw new Error(`an smux frame of ${f.data.length} bytes`);
  const out = Buffer.alloc(HEADER + f.data.length);
  out.writeUInt8(SMUX_VERSION, 0);
  out.writeUInt8(f.cmd, 1);
  out.writeUInt16LE(f.data.length, 2);
  out.writeUInt32LE(f.streamId, 4);
  f.data.copy(out, HEADER);
  return out;
}

/** A connection's bytes as PSH frames of at most `size` bytes each. */
export function dataFrames(streamId: number, data: Buffer, size = MAX_FRAME_DATA): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < data.length; at += size) {
    out.push(encodeFrame({ cmd: SMUX_CMD.psh, streamId, data: data.subarray(at, at + size) }));
  }
  return out;
}

export class SmuxProtocolError extends Error {}

/**
 * Reassembles frames from the byte stream, whatever the chunks. A version other than 1 or an unknown
 * command ends the session (as Go's smux does); a frame longer than MAX_FRAME_DATA is refused.
 */
export class SmuxReader {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): SmuxFrame[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const frames: SmuxFrame[] = [];
    while (this.pending.length >= HEADER) {
      const version = this.pending.readUInt8(0);
      const cmd = this.pending.readUInt8(1);
      const length = this.pending.readUInt16LE(2);
      if (version !== SMUX_VERSION) throw new SmuxProtocolError(`smux version ${version} (expected 1)`);
      if (cmd > SMUX_CMD.nop) throw new SmuxProtocolError(`unknown smux command ${cmd}`);
      if (length > MAX_FRAME_DATA) throw new SmuxProtocolError(`an smux frame of ${length} bytes`);
      if (this.pending.length < HEADER + length) break;
      frames.push({
        cmd: cmd as SmuxCommand,
        streamId: this.pending.readUInt32LE(4),
        data: Buffer.from(this.pending.subarray(HEADER, HEADER + length)),
      });
      this.pending = this.pending.subarray(HEADER + length);
    }
    return frames;
  }

  /** Bytes of an unfinished frame held (at most one frame's). */
  get held(): number {
    return this.pending.length;
  }
}
