// Reliable delivery on the data channel, as plain data and times: in-order delivery with early
// messages held, duplicates acknowledged again, the oldest unacknowledged message resent once its
// timeout passes, the timeout learnt from round trips (not from resent ones), and bounded memory.
import { describe, expect, it } from 'vitest';
import { INITIAL_RTO, InboundOrder, learnRoundTrip, Outbound, SequenceOverflow } from '../../src/native/sequencing.js';

describe('InboundOrder', () => {
  it.each([
    ['in order', [0, 1, 2], [[0], [1], [2]]],
    ['one early, then the gap closes', [1, 0, 2], [[], [0, 1], [2]]],
    ['several early, out of order', [3, 1, 2, 0], [[], [], [], [0, 1, 2, 3]]],
    ['a duplicate of a delivered message: nothing delivered again', [0, 0, 1], [[0], [], [1]]],
    ['a duplicate of an early one: held once', [2, 2, 0, 1], [[], [], [0], [1, 2]]],
  ])('%s', (_name, arrivals, delivered) => {
    const order = new InboundOrder<number>();
    const out = arrivals.map((seq) => {
      const r = order.accept(seq, seq);
      expect(r.acknowledge).toBe(true); // every one, duplicates too
      return r.deliver;
    });
    expect(out).toEqual(delivered);
    expect(order.waiting).toBe(0);
  });

  it('a flood of messages past a gap that never closes: a clear error at the bound, not unbounded memory', () => {
    const order = new InboundOrder<number>(100);
    for (let seq = 1; seq <= 100; seq++) order.accept(seq, seq);
    expect(() => order.accept(101, 101)).toThrow(SequenceOverflow);
    expect(() => order.accept(101, 101)).toThrow(/100 messages wait for message 0/);
  });
});

describe('the retransmission timeout', () => {
  it('starts at 200 ms and learns from round trips, capped at 1 s, never below srtt + 10 ms', () => {
    let s = INITIAL_RTO;
    expect(s.rto).toBe(200);
    s = learnRoundTrip(s, 100);
    expect(s).toEqual({ srtt: 100, rttvar: 0, rto: 110 });
    s = learnRoundTrip(s, 500);
    expect(s.srtt).toBe(150);
    expect(s.rttvar).toBe(100);
    expect(s.rto).toBe(550);
    for (let i = 0; i < 10; i++) s = learnRoundTrip(s, 5000);
    expect(s.rto).toBe(1000);
  });
});

describe('Outbound', () => {
  const build = (seq: number) => `message ${seq}`;

  it('numbers from 0; the oldest unacknowledged is resent once its timeout passes; an ack forgets it', () => {
    const out = new Outbound<string>();
    expect(out.send(build, 0)).toEqual({ sequence: 0, message: 'message 0' });
    expect(out.send(build, 10).sequence).toBe(1);
    expect(out.due(199)).toBeUndefined();
    expect(out.due(200)).toEqual({ sequence: 0, message: 'message 0', resends: 1 });
    expect(out.due(300)).toBeUndefined(); // not again before another timeout
    expect(out.acknowledged(0, 350)).toBe(true);
    expect(out.acknowledged(0, 351)).toBe(false); // twice: nothing left to forget
    expect(out.due(400)).toEqual({ sequence: 1, message: 'message 1', resends: 1 });
    expect(out.waiting).toBe(1);
  });

  it("a resent message's round trip teaches nothing (Karn): which send is acknowledged is unknown", () => {
    const out = new Outbound<string>();
    out.send(build, 0);
    out.due(200);
    out.acknowledged(0, 5000);
    expect(out.rto).toEqual(INITIAL_RTO);
    out.send(build, 6000);
    out.acknowledged(1, 6040);
    expect(out.rto.srtt).toBe(92.5);
  });

  it('more unacknowledged than the bound: a clear error, not unbounded memory (the plugin drops silently)', () => {
    const out = new Outbound<string>(3);
    for (let i = 0; i < 3; i++) out.send(build, i);
    expect(() => out.send(build, 3)).toThrow(SequenceOverflow);
  });
});
