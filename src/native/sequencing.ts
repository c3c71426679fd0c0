// Reliable delivery over the data channel (docs/native-protocol.md §sequencing): each direction numbers
// its stream messages from 0; the receiver acknowledges each one (duplicates again), delivers in order
// and holds early ones; the sender keeps what is not yet acknowledged and resends the oldest once the
// retransmission timeout, learnt from round trips as TCP does, has passed. Pure state, no timers: the
// session calls these with the time.

/** The retransmission timeout and what it is learnt from, in milliseconds. */
export interface RtoState {
  srtt: number;
  rttvar: number;
  rto: number;
}

/** AWS's plugin starts with a 100 ms round trip and a 200 ms timeout. */
export const INITIAL_RTO: RtoState = { srtt: 100, rttvar: 0, rto: 200 };
const MAX_RTO_MS = 1000;
const MIN_VARIATION_MS = 10;

/** One acknowledged message's round trip folded in (RFC 6298's weights, capped at 1 s). Pure. */
export function learnRoundTrip(s: RtoState, sampleMs: number): RtoState {
  const rttvar = 0.75 * s.rttvar + 0.25 * Math.abs(s.srtt - sampleMs);
  const srtt = 0.875 * s.srtt + 0.125 * sampleMs;
  return { srtt, rttvar, rto: Math.min(MAX_RTO_MS, srtt + Math.max(MIN_VARIATION_MS, 4 * rttvar)) };
}

export class SequenceOverflow extends Error {}

/** Messages received, delivered in sequence order; early ones wait, up to `limit`. */
export class InboundOrder<T> {
  private expected = 0;
  private readonly early = new Map<number, T>();

  constructor(private readonly limit = 10_000) {}

  /**
   * A stream message arrives. Returns what is now deliverable, in order, and whether to acknowledge
   * it (always: a duplicate is acknowledged again, so that a sender whose acknowledgement was lost
   * stops resending). Throws SequenceOverflow when too many wait for a gap to close.
   */
  accept(sequence: number, message: T): { deliver: T[]; acknowledge: true; duplicate: boolean } {
    if (sequence < this.expected || this.early.has(sequence))
      return { deliver: [], acknowledge: true, duplicate: true };
    if (sequence > this.expected) {
      if (this.early.size >= this.limit) {
        throw new SequenceOverflow(`${this.early.size} messages wait for message ${this.expected}, which never came`);
      }
      this.early.set(sequence, message);
      return { deliver: [], acknowledge: true, duplicate: false };
    }
    const deliver = [message];
    this.expected++;
    for (let next = this.early.get(this.expected); next !== undefined; next = this.early.get(this.expected)) {
      this.early.delete(this.expected);
      deliver.push(next);
      this.expected++;
    }
    return { deliver, acknowledge: true, duplicate: false };
  }

  get waiting(): number {
    return this.early.size;
  }
}

interface Sent<T> {
  message: T;
  firstSentAt: number;
  lastSentAt: number;
  resends: number;
}

/** What was sent and not yet acknowledged, by sequence number; the oldest is resent first. */
export class Outbound<T> {
  private next = 0;
  private readonly unacked = new Map<number, Sent<T>>();
  rto: RtoState = INITIAL_RTO;

  constructor(private readonly limit = 10_000) {}

  /** The next sequence number, and the message kept until acknowledged. Throws when `limit` wait. */
  send(build: (sequence: number) => T, now: number): { sequence: number; message: T } {
    if (this.unacked.size >= this.limit) {
      throw new SequenceOverflow(`${this.unacked.size} messages sent and not acknowledged`);
    }
    const sequence = this.next++;
    const message = build(sequence);
    this.unacked.set(sequence, { message, firstSentAt: now, lastSentAt: now, resends: 0 });
    return { sequence, message };
  }

  /** An acknowledgement: forget the message; learn from its round trip unless it was resent (Karn). */
  acknowledged(sequence: number, now: number): boolean {
    const sent = this.unacked.get(sequence);
    if (!sent) return false;
    this.unacked.delete(sequence);
    if (sent.resends === 0) this.rto = learnRoundTrip(this.rto, now - sent.firstSentAt);
    return true;
  }

  /** The oldest unacknowledged message, if its timeout has passed: to send again (now recorded). */
  due(now: number): { sequence: number; message: T; resends: number } | undefined {
    const oldest = this.unacked.entries().next();
    if (oldest.done) return undefined;
    const [sequence, sent] = oldest.value;
    if (now - sent.lastSentAt < this.rto.rto) return undefined;
    sent.lastSentAt = now;
    sent.resends++;
    return { sequence, message: sent.message, resends: sent.resends };
  }

  get waiting(): number {
    return this.unacked.size;
  }

  /** Everything not yet acknowledged, oldest first (to send again on a new socket), now recorded as sent. */
  resendAll(now: number): T[] {
    return [...this.unacked.values()].map((sent) => {
      sent.lastSentAt = now;
      sent.resends++;
      return sent.message;
    });
  }
}
