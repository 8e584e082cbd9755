/** ECN: CE marking on real IPv4/IPv6 headers, and fq_codel marking instead of dropping. */
import { describe, expect, it } from 'vitest';
import { markCongestion } from '../src/net/ecn.js';
import { DROP_AQM } from '../schedulers/types.js';
import { Harness } from './helpers/sched-harness.js';

function ipv4Frame(tos: number): Uint8Array {
  const b = new Uint8Array(60);
  b.set([0x08, 0x00], 12);
  b.set([0x45, tos, 0, 46, 0x12, 0x34, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2], 14);
  const sum = checksum(b, 14);
  b[24] = sum >>> 8;
  b[25] = sum & 0xff;
  return b;
}

/** The IPv4 header checksum over 20 bytes at `ip` (0 when the stored one is right). */
function checksum(b: Uint8Array, ip: number): number {
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += (b[ip + i] << 8) | b[ip + i + 1];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

describe('ECN marking', () => {
  it('sets CE on ECT(0) and ECT(1) IPv4 packets and keeps the header checksum right', () => {
    for (const tos of [0x02, 0x01, 0xb8 | 0x02]) {
      const b = ipv4Frame(tos);
      expect(markCongestion(b, 0, b.length)).toBe(true);
      expect(b[15]).toBe(tos | 0x03);
      expect(checksum(b, 14)).toBe(0);
    }
  });

  it('leaves Not-ECT, CE, non-IP and IPv6 Not-ECT packets alone; marks IPv6 ECT', () => {
    for (const tos of [0x00, 0x03, 0xb8]) {
      const b = ipv4Frame(tos);
      expect(markCongestion(b, 0, b.length)).toBe(false);
      expect(b[15]).toBe(tos);
    }
    const arp = new Uint8Array(60);
    arp.set([0x08, 0x06], 12);
    expect(markCongestion(arp, 0, 60)).toBe(false);
    const v6 = new Uint8Array(80);
    v6.set([0x86, 0xdd], 12);
    v6.set([0x60, 0x00], 14); // traffic class 0: Not-ECT
    expect(markCongestion(v6, 0, 80)).toBe(false);
    v6[15] = 0x20; // ECN field (bits 5..4 of byte 1) = ECT(0)
    expect(markCongestion(v6, 0, 80)).toBe(true);
    expect(v6[15]).toBe(0x30);
  });
});

describe('fq_codel with ECN', () => {
  /** One flow at twice a 10 Mbit/s link for 1 s; returns what CoDel marked and dropped. */
  function overload(ect: boolean, params: object) {
    const h = new Harness('fq_codel', 16384, 1, params, 1e7);
    h.sched.addClass(0, {});
    for (let i = 0; i < 833; i++) {
      h.offer(0, 1500, 7, ect);
      h.offer(0, 1500, 7, ect);
      h.take();
    }
    return { marked: h.marked.length, aqmDrops: h.sunk.filter((s) => s.reason === DROP_AQM).length };
  }

  it('marks ECN-capable packets where it would drop them; drops the others; noecn drops all', () => {
    const ecn = overload(true, {});
    expect(ecn.marked).toBeGreaterThan(0);
    expect(ecn.aqmDrops).toBe(0);
    const notEct = overload(false, {});
    expect(notEct.marked).toBe(0);
    expect(notEct.aqmDrops).toBeGreaterThan(0);
    const noecn = overload(true, { ecn: false });
    expect(noecn.marked).toBe(0);
    expect(noecn.aqmDrops).toBe(notEct.aqmDrops);
  });

  it('ce_threshold marks every ECN-capable packet that waited longer than it', () => {
    const h = new Harness('fq_codel', 4096, 1, { ceThresholdUs: 1000 }, 1e7);
    h.sched.addClass(0, {});
    const frames = Array.from({ length: 10 }, () => h.offer(0, 1500, 7, true)[0]); // 1.2 ms each on the wire
    for (let f = h.take(); f >= 0; f = h.take());
    // The first leaves at once; each later one waited at least one 1.2 ms packet time.
    expect(h.marked).toEqual(frames.slice(1));
  });
});
