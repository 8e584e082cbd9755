/**
 * The keyed flow hash (src/tc/flow-hash.ts): HalfSipHash as its authors' reference
 * vectors give it, one flow one hash, and a key that decides which flows share an sfq
 * bucket — what keeps a tenant from aiming its flows at another's queue.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FIXED_FLOW_KEY, FlowHasher, randomFlowKey, type FlowKey } from '../src/tc/flow-hash.js';
import { seededHash } from '../schedulers/flow-queues.js';

/** Reference vectors (vectors_hsip32, HalfSipHash-2-4, key bytes 0..7, message bytes 0..n-1) for whole-word messages. */
const REFERENCE: [words: number[], tag: number][] = [
  [[], 0x5b9f35a9],
  [[0x03020100], 0x89466e2a],
  [[0x03020100, 0x07060504], 0x8f84b8d0],
];
const REFERENCE_KEY: FlowKey = [0x03020100, 0x07060504];

/** An Ethernet + IPv4 + UDP frame from `src`:`sport` to 10.9.0.2:5001. */
function udpFrame(src: number, sport: number): Uint8Array {
  const b = new Uint8Array(64);
  b[12] = 0x08;
  b[14] = 0x45;
  b[23] = 17;
  new DataView(b.buffer).setUint32(26, src);
  new DataView(b.buffer).setUint32(30, 0x0a090002);
  new DataView(b.buffer).setUint16(34, sport);
  new DataView(b.buffer).setUint16(36, 5001);
  return b;
}

describe('flow hash', () => {
  it('is HalfSipHash: the reference vectors, with its 2-4 rounds', () => {
    const h = new FlowHasher(REFERENCE_KEY, { c: 2, d: 4 });
    for (const [words, tag] of REFERENCE) expect(h.hashWords(words).toString(16), `${words.length} words`).toBe(tag.toString(16));
  });

  it('gives a flow one hash, whatever else the frame holds, and never 0', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 0, max: 65535 }), fc.uint8Array({ minLength: 22, maxLength: 22 }), (src, sport, payload) => {
        const a = udpFrame(src, sport);
        const b = udpFrame(src, sport);
        b.set(payload, 42);
        const h = new FlowHasher(randomFlowKey());
        expect(h.hash(a, 0, 64)).toBe(h.hash(b, 0, 64));
        expect(h.hash(a, 0, 64)).not.toBe(0);
      }),
    );
  });

  it('under another key, flows that shared an sfq bucket spread out: a tenant cannot aim at a queue it cannot see', () => {
    // 20,000 flows of one sender, by source port; the bucket as sfq (divisor 1024) takes it.
    const bucket = (h: FlowHasher, port: number) => seededHash(h.hash(udpFrame(0x0a010102, port), 0, 64), 0x5f3759df) & 1023;
    const known = new FlowHasher(FIXED_FLOW_KEY);
    const target = bucket(known, 1);
    const aimed = Array.from({ length: 20_000 }, (_, i) => i + 2).filter((p) => bucket(known, p) === target);
    expect(aimed.length).toBeGreaterThan(5); // what an attacker knowing the key would send
    const secret = new FlowHasher(randomFlowKey());
    const hits = aimed.filter((p) => bucket(secret, p) === bucket(secret, 1)).length;
    // Each lands there with probability 1/1024: more than 3 of ~20 would be a 1-in-10^6 event.
    expect(hits).toBeLessThanOrEqual(3);
  });
});
