/**
 * Filters from tc command lines, compiled and run on real frames: the order, the u32
 * keys, hash tables and links, fw marks, protocols, relative flowids, short packets —
 * and, as a property, u32 keys against a byte-by-byte reading of the packet.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Classifier, NO_MATCH, type InstalledFilter } from '../src/tc/classifier.js';
import { parseTc } from '../src/tc/grammar.js';
import { TC_H_ROOT } from '../src/tc/handles.js';
import type { FilterCommand } from '../src/tc/model.js';

const ETH_IP = 0x0800;
const ETH_ARP = 0x0806;

function filters(...lines: string[]): Classifier {
  const installed: InstalledFilter[] = lines.map((line) => {
    const c = parseTc(line.split(/\s+/)).command as FilterCommand;
    return { prio: c.prio ?? 49152, protocol: c.protocol, parent: c.parent ?? TC_H_ROOT, spec: c.filter! };
  });
  return new Classifier(installed);
}

interface FrameFields {
  srcMac?: number[];
  src?: number[];
  dst?: number[];
  proto?: number;
  sport?: number;
  dport?: number;
  tos?: number;
  len?: number;
}

/** Ethernet + IPv4 (20 B) + ports: enough of a frame for the classifier. */
function frame(f: FrameFields = {}): Uint8Array {
  const b = new Uint8Array(f.len ?? 64);
  b.set([0x02, 0, 0, 0, 0, 0x02, ...(f.srcMac ?? [0x02, 0, 0, 0, 0, 0x01]), 0x08, 0x00], 0);
  b[14] = 0x45;
  b[15] = f.tos ?? 0;
  b[23] = f.proto ?? 17;
  b.set(f.src ?? [10, 0, 0, 1], 26);
  b.set(f.dst ?? [10, 0, 0, 2], 30);
  const sport = f.sport ?? 1000;
  const dport = f.dport ?? 2000;
  if (b.length >= 38) b.set([sport >> 8, sport & 0xff, dport >> 8, dport & 0xff], 34);
  return b;
}

const classify = (c: Classifier, b: Uint8Array, proto = ETH_IP, mark = 0) => c.classify(b, 0, 14, b.length, proto, mark);

describe('tc classifier', () => {
  it("u32 hash tables are the qdisc's: a prio links to a table another prio made, and finds the nodes a third prio put there", () => {
    const c = filters(
      'filter add dev e parent 1: protocol ip prio 5 handle 2: u32 divisor 256',
      // prio 1 hashes on the destination's last byte into table 2:
      'filter add dev e parent 1: protocol ip prio 1 u32 link 2: hashkey mask 0x000000ff at 16 match u32 0 0 at 0',
      'filter add dev e parent 1: protocol ip prio 9 u32 ht 2:7 match ip dst 10.0.0.7 flowid 1:70',
      'filter add dev e parent 1: protocol ip prio 3 u32 match ip dst 10.0.0.0/8 flowid 1:30',
    );
    expect(classify(c, frame({ dst: [10, 0, 0, 7] }))).toBe(0x10070);
    // Nothing in bucket 8: the walk resumes after the link, then prio 3.
    expect(classify(c, frame({ dst: [10, 0, 0, 8] }))).toBe(0x10030);
  });

  it('tries filters by prio, first match wins', () => {
    const c = filters(
      'filter add dev e parent 1: prio 2 matchall classid 1:20',
      'filter add dev e parent 1: protocol ip prio 1 u32 match ip dst 10.0.0.0/8 flowid 1:10',
    );
    expect(classify(c, frame({ dst: [10, 1, 2, 3] }))).toBe(0x10010);
    expect(classify(c, frame({ dst: [192, 168, 1, 1] }))).toBe(0x10020);
  });

  it('matches ports, protocol and tos together', () => {
    const c = filters('filter add dev e parent 1: protocol ip prio 1 u32 match ip protocol 6 0xff match ip dport 80 0xffff match ip tos 0x10 0xfc flowid 1:2');
    expect(classify(c, frame({ proto: 6, dport: 80, tos: 0x12 }))).toBe(0x10002);
    expect(classify(c, frame({ proto: 17, dport: 80, tos: 0x10 }))).toBe(NO_MATCH);
    expect(classify(c, frame({ proto: 6, dport: 81, tos: 0x10 }))).toBe(NO_MATCH);
    expect(classify(c, frame({ proto: 6, dport: 80, tos: 0x20 }))).toBe(NO_MATCH);
  });

  it("classifies by the sender's MAC, as libvirt's bridge filters do", () => {
    const c = filters('filter add dev virbr0 parent 1:0 protocol all prio 2 handle 800::800 u32 match ether src 52:54:00:11:22:33 flowid 1:3');
    expect(classify(c, frame({ srcMac: [0x52, 0x54, 0, 0x11, 0x22, 0x33] }))).toBe(0x10003);
    expect(classify(c, frame({ srcMac: [0x52, 0x54, 0, 0x11, 0x22, 0x34] }))).toBe(NO_MATCH);
  });

  it('hashes into a table by a byte of the source address, and falls back when the bucket has no match', () => {
    const c = filters(
      'filter add dev e parent 1:0 prio 5 handle 2: protocol ip u32 divisor 256',
      'filter add dev e protocol ip parent 1:0 prio 5 u32 ht 800:: match ip src 10.0.0.0/16 hashkey mask 0x000000ff at 12 link 2:',
      'filter add dev e protocol ip parent 1:0 prio 5 u32 ht 2:7b: match ip src 10.0.0.123 flowid 1:123',
      'filter add dev e protocol ip parent 1:0 prio 5 u32 ht 2:7c: match ip src 10.0.0.124 flowid 1:124',
      'filter add dev e parent 1: prio 10 matchall classid 1:ff',
    );
    expect(classify(c, frame({ src: [10, 0, 0, 123] }))).toBe(0x10123);
    expect(classify(c, frame({ src: [10, 0, 0, 124] }))).toBe(0x10124);
    expect(classify(c, frame({ src: [10, 0, 0, 125] }))).toBe(0x100ff);
    expect(classify(c, frame({ src: [10, 1, 0, 123] }))).toBe(0x100ff);
  });

  it('matches fw marks under their mask', () => {
    const c = filters('filter add dev e parent 1: handle 0x10/0xff fw classid 1:40');
    expect(classify(c, frame(), ETH_IP, 0x110)).toBe(0x10040);
    expect(classify(c, frame(), ETH_IP, 0x20)).toBe(NO_MATCH);
  });

  it('applies a filter only to its protocol; `all` to every packet', () => {
    const c = filters(
      'filter add dev e parent 1: protocol ip prio 1 matchall classid 1:1',
      'filter add dev e parent 1: protocol all prio 2 matchall classid 1:2',
    );
    expect(classify(c, frame(), ETH_IP)).toBe(0x10001);
    expect(classify(c, frame(), ETH_ARP)).toBe(0x10002);
  });

  it('keeps `flowid :N` as written, a class id of major 0 (the qdisc decides what it names)', () => {
    const c = filters('filter add dev e parent 7: protocol ip u32 match ip src 0.0.0.0/0 police rate 1mbit burst 10k drop flowid :5');
    expect(classify(c, frame())).toBe(0x5);
    expect(c.policers[c.lastPolice]).toEqual({ rate: 1e6, burst: 10240, exceed: 'drop' });
  });

  it('gives up on a u32 instance whose key reads past the packet, and goes on to the next filter', () => {
    const c = filters(
      'filter add dev e parent 1: protocol ip prio 1 u32 match ip dport 80 0xffff flowid 1:1',
      'filter add dev e parent 1: prio 2 matchall classid 1:2',
    );
    expect(classify(c, frame({ dport: 80 }))).toBe(0x10001);
    expect(classify(c, frame({ dport: 80, len: 36 }))).toBe(0x10002);
  });

  it('property: a u32 key matches exactly when the masked packet bytes equal its value', () => {
    const width = fc.constantFrom(8, 16, 32);
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 64, maxLength: 64 }),
        width,
        fc.nat(),
        fc.nat(),
        fc.nat(),
        fc.boolean(),
        (bytes, w, pick, rawMask, rawValue, fromPacket) => {
          // Offsets aligned to the width (as tc requires) from the Ethernet header to the frame's end.
          const size = w / 8;
          const offsets = Array.from({ length: 64 - size + 1 }, (_, p) => p - 14).filter((o) => o % size === 0);
          const off = offsets[pick % offsets.length];
          const max = w === 32 ? 0xffffffff : 2 ** w - 1;
          const mask = (rawMask % max) + 1;
          const view = new DataView(bytes.buffer);
          const field = w === 8 ? bytes[14 + off] : w === 16 ? view.getUint16(14 + off) : view.getUint32(14 + off);
          const value = (fromPacket ? field & mask : rawValue & mask) >>> 0;
          const c = filters(`filter add dev e parent 1: protocol all u32 match u${w} ${value} ${mask} at ${off} flowid 1:1`);
          const expected = (field & mask) >>> 0 === value ? 0x10001 : NO_MATCH;
          expect(c.classify(bytes, 0, 14, bytes.length, ETH_IP, 0)).toBe(expected);
        },
      ),
      { seed: 77, numRuns: 500 },
    );
  });
});
