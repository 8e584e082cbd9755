/**
 * The flow hash sfq and fq_codel queue by, as the kernel's flow dissector keys it: IP
 * addresses, protocol and, for TCP/UDP, the ports; for other frames, the MAC addresses and
 * ethertype. Keyed, as the kernel's is (skb_get_hash: siphash with a boot-time random
 * key): HalfSipHash-1-3 (Aumasson & Bernstein; the kernel's hsiphash on 32-bit machines)
 * of those fields under a 64-bit key. A daemon draws its key at random when it starts, so
 * a tenant who knows the code still cannot pick addresses and ports that land in another
 * tenant's flow queue; the simulator and the demo use FIXED_FLOW_KEY, to stay reproducible.
 * Each qdisc mixes in its own seed on top (sfq's perturbation).
 */
import { randomBytes } from 'node:crypto';
import { ETH_HEADER } from '../net/device.js';
import { ETH_P } from './model.js';

/** Two 32-bit key words. */
export type FlowKey = readonly [number, number];

/** For runs that must repeat exactly (the simulator, the demo, tests). */
export const FIXED_FLOW_KEY: FlowKey = [0x70737061, 0x742d7473];

/** A key nobody outside this process knows. */
export function randomFlowKey(): FlowKey {
  const b = randomBytes(8);
  return [b.readInt32LE(0), b.readInt32LE(4)];
}

const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;

function word(b: Uint8Array, p: number): number {
  return (b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3];
}

/**
 * HalfSipHash over a frame's flow fields (`hash`) or any 32-bit words (`hashWords`). One
 * instance per thread: the words go into a buffer it owns, and the rounds run on locals,
 * so hashing allocates nothing.
 */
export class FlowHasher {
  /** The message: at most two IPv6 addresses, ethertype with protocol, and ports. */
  private readonly words = new Int32Array(12);
  private readonly c: number;
  private readonly d: number;

  /**
   * `rounds`: compression and finalisation SipRounds; 1-3 as the kernel's hsiphash (the
   * reference vectors are for 2-4, which the tests check the rounds against).
   */
  constructor(
    private readonly key: FlowKey = FIXED_FLOW_KEY,
    rounds: { c: number; d: number } = { c: 1, d: 3 },
  ) {
    this.c = rounds.c;
    this.d = rounds.d;
  }

  /** HalfSipHash of 32-bit words, each as 4 little-endian message bytes (the reference's reading). */
  hashWords(words: ArrayLike<number>): number {
    for (let i = 0; i < words.length; i++) this.words[i] = words[i];
    return this.run(words.length) >>> 0;
  }

  /**
   * The frame's flow hash, never 0 (0 means "no hash" in the frame table). A signed 32-bit
   * value, which the frame table's unsigned column stores as the same bits: an unsigned one
   * of 2^31 or more is a heap number, allocated per packet wherever this call is not inlined.
   */
  hash(b: Uint8Array, off: number, len: number): number {
    const w = this.words;
    const proto = (b[off + 12] << 8) | b[off + 13];
    const l3 = off + ETH_HEADER;
    let l4 = -1;
    let ipProto = 0;
    let n = 0;
    if (proto === ETH_P.ip && len >= ETH_HEADER + 20) {
      ipProto = b[l3 + 9];
      w[n++] = word(b, l3 + 12);
      w[n++] = word(b, l3 + 16);
      l4 = l3 + 4 * (b[l3] & 0x0f);
    } else if (proto === ETH_P.ipv6 && len >= ETH_HEADER + 40) {
      ipProto = b[l3 + 6];
      for (let i = 8; i < 40; i += 4) w[n++] = word(b, l3 + i);
      l4 = l3 + 40;
    } else {
      for (let i = 0; i < 12; i += 4) w[n++] = word(b, off + i);
    }
    w[n++] = (proto << 8) | ipProto; // one word for both: a round less per packet
    if ((ipProto === IPPROTO_TCP || ipProto === IPPROTO_UDP) && l4 + 4 <= off + len) w[n++] = word(b, l4);
    return this.run(n) || 1;
  }

  /**
   * HalfSipHash of words[0..n): each word, then the length block, one compression of `c`
   * SipRounds; then one finalisation of `d` (steps n + 1 of one loop, so the round is written once).
   */
  private run(n: number): number {
    // Indexed, not destructured: destructuring runs the array iterator, an allocation per packet.
    const k0 = this.key[0];
    const k1 = this.key[1];
    let v0 = k0;
    let v1 = k1;
    let v2 = 0x6c796765 ^ k0;
    let v3 = 0x74656462 ^ k1;
    const last = (n * 4) << 24; // the message length in bytes, as SipHash's last block carries it
    for (let i = 0; i <= n + 1; i++) {
      const final = i > n;
      const m = i < n ? this.words[i] : last;
      if (final) v2 ^= 0xff;
      else v3 ^= m;
      for (let r = final ? this.d : this.c; r > 0; r--) {
        // SipRound on 32-bit words (HalfSipHash's rotations).
        v0 = (v0 + v1) | 0;
        v1 = (v1 << 5) | (v1 >>> 27);
        v1 ^= v0;
        v0 = (v0 << 16) | (v0 >>> 16);
        v2 = (v2 + v3) | 0;
        v3 = (v3 << 8) | (v3 >>> 24);
        v3 ^= v2;
        v0 = (v0 + v3) | 0;
        v3 = (v3 << 7) | (v3 >>> 25);
        v3 ^= v0;
        v2 = (v2 + v1) | 0;
        v1 = (v1 << 13) | (v1 >>> 19);
        v1 ^= v2;
        v2 = (v2 << 16) | (v2 >>> 16);
      }
      if (!final) v0 ^= m;
    }
    return v1 ^ v3;
  }
}
