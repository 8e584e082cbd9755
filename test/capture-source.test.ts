/**
 * Capture sources (src/client/capture-source.ts) on a veth whose far end is in a
 * namespace of the test's own: frames sent into the near end come back in pool frames,
 * byte for byte, and every one is accounted for — received, dropped by the kernel for
 * want of a frame (XDP), or still waiting in the socket (AF_PACKET). Ring capture, whose
 * diversion program must sit on a device of the reader's own namespace, is driven by a
 * probe run inside one (test/helpers/ring-capture-probe.ts).
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachCaptureProgram } from '../src/attach/capture-program.js';
import { ringCaptureRefused } from '../src/attach/divert.js';
import { PacketSource, XskSource, type CaptureSource } from '../src/client/capture-source.js';
import { createSinkTopology, type SinkTopology } from '../src/testbed/netns.js';
import { FramePool } from '../src/shm/frame-pool.js';
import { tryNativeAddon } from '../src/transmit/native.js';
import { skipWithoutNet } from './helpers/netns.js';

const addon = tryNativeAddon();
const skip = skipWithoutNet() || addon === null;

const FRAME_LEN = 64;
const SEQ_AT = 42; // past Ethernet (14), IPv4 (20) and UDP (8) headers

/** Sends frames numbered first..first+count-1 into `dev` from a raw socket (python3, which CI installs anyway). */
function sendFrames(dev: string, first: number, count: number): void {
  const script = `
import socket, struct, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
head = bytes.fromhex('020000000002' '020000000001' '0800') + bytes(28)
for i in range(int(sys.argv[2]), int(sys.argv[2]) + int(sys.argv[3])):
    s.send(head + struct.pack('>I', i) + bytes(${FRAME_LEN - SEQ_AT - 4}))
`;
  execFileSync('python3', ['-c', script, dev, String(first), String(count)]);
}

/** Reads until `want` frames came or a second passed; returns their sequence numbers in arrival order. */
function readFrames(pool: FramePool, source: CaptureSource, want: number): number[] {
  const out = new Int32Array(64);
  const seqs: number[] = [];
  for (let tries = 0; seqs.length < want && tries < 20; tries++) {
    const n = source.read(out, 50);
    expect(n).toBeGreaterThanOrEqual(0);
    for (let i = 0; i < n; i++) {
      const f = out[i];
      expect(pool.len[f]).toBe(FRAME_LEN);
      expect(pool.head[f] + pool.len[f]).toBeLessThanOrEqual(pool.frameSize);
      const at = pool.offsetOf(f);
      expect(Array.from(pool.bytes.subarray(at, at + 6))).toEqual([2, 0, 0, 0, 0, 2]);
      seqs.push(new DataView(pool.bytes.buffer, at + SEQ_AT, 4).getUint32(0));
    }
  }
  return seqs;
}

const range = (first: number, count: number) => Array.from({ length: count }, (_, i) => first + i);

describe.skipIf(skip)('capture sources', () => {
  let topo: SinkTopology;
  let netns: string;
  beforeAll(() => {
    topo = createSinkTopology('xcap', false);
    netns = `/run/netns/${topo.ns}`;
    // Quiet far end: a packet socket also sees the frames it sends (IPv6 neighbour discovery).
    execFileSync('ip', ['netns', 'exec', topo.ns, 'sysctl', '-qw', `net.ipv6.conf.${topo.peer}.disable_ipv6=1`]);
  });
  afterAll(() => topo?.destroy());

  function newPool(): FramePool {
    return new FramePool(FramePool.allocate(256, 2048, (u8) => addon!.pageOffset(u8)));
  }

  it('XDP: the kernel writes each packet into a pool frame past its head; with no frame left it drops and counts', () => {
    const program = attachCaptureProgram(topo.peer, netns);
    if (!('mapFd' in program)) throw new Error(`XDP capture did not attach: ${program.why}`);
    const pool = newPool();
    const source = new XskSource(pool, netns, topo.peer, { mapFd: program.mapFd, queue: 0, ringSize: 256 });
    try {
      const frames = Int32Array.from(range(0, 64));
      source.give(frames, 64);
      expect(source.stocked).toBe(64);
      sendFrames(topo.dev, 0, 100);
      const seqs = readFrames(pool, source, 64);
      // 64 frames, 100 packets: the first 64 in order, the other 36 dropped by the kernel.
      expect(seqs).toEqual(range(0, 64));
      expect(source.drops()).toBe(36);
      expect(source.drops()).toBe(0); // counted once
      expect(source.stocked).toBe(0);
      source.give(frames, 64);
      sendFrames(topo.dev, 100, 10);
      expect(readFrames(pool, source, 10)).toEqual(range(100, 10));
      expect(source.drops()).toBe(0);
    } finally {
      source.close();
      addon!.closeFd(program.mapFd);
    }
  });

  it('AF_PACKET: packets beyond the frames given wait in the socket for the next read', () => {
    execFileSync('ip', ['-n', topo.ns, 'link', 'set', topo.peer, 'xdp', 'off']);
    const pool = newPool();
    const source = new PacketSource(pool, netns, topo.peer, 0);
    try {
      const frames = Int32Array.from(range(0, 64));
      source.give(frames, 64);
      sendFrames(topo.dev, 0, 100);
      expect(readFrames(pool, source, 64)).toEqual(range(0, 64));
      expect(source.stocked).toBe(0);
      source.give(frames, 64);
      expect(readFrames(pool, source, 36)).toEqual(range(64, 36));
      expect(source.drops()).toBe(0);
    } finally {
      source.close();
    }
  });

  it('ring: frames diverted in the sender arrive whole with finished checksums; super-packets and their flow take the pair; a full ring drops and counts', () => {
    const ns = `pspat-xring${process.pid % 100000}`;
    const inNs = (...args: string[]) => execFileSync('ip', ['netns', 'exec', ns, ...args], { encoding: 'utf8' });
    execFileSync('ip', ['netns', 'add', ns]);
    try {
      inNs('ip', 'link', 'add', 'up0', 'type', 'veth', 'peer', 'name', 'up1');
      inNs('ip', 'link', 'add', 'cap0', 'type', 'veth', 'peer', 'name', 'cap1');
      // As attach.ts leaves the daemon's capture pair: no IPv6 of its own, whose packets it would capture.
      for (const dev of ['cap0', 'cap1']) inNs('sysctl', '-qw', `net.ipv6.conf.${dev}.disable_ipv6=1`);
      for (const dev of ['lo', 'up0', 'up1', 'cap0', 'cap1']) inNs('ip', 'link', 'set', dev, 'up');
      inNs('ip', 'addr', 'add', '10.77.0.1/24', 'dev', 'up0');
      inNs('ip', 'neigh', 'add', '10.77.0.9', 'lladdr', '02:00:00:00:00:09', 'dev', 'up0');
      inNs('ethtool', '-K', 'cap0', 'tx', 'off', 'sg', 'off', 'tso', 'off', 'gso', 'off');
      inNs('tc', 'qdisc', 'add', 'dev', 'up0', 'clsact');
      const probe = fileURLToPath(new URL('../dist/test/helpers/ring-capture-probe.js', import.meta.url));
      const r = JSON.parse(inNs(process.execPath, probe)) as {
        noRings: string | null;
        plain: { via: string; len: number; checksum: boolean; k: number; intact: boolean; diverted: string }[];
        gso: { via: string; len: number; checksum: boolean; diverted: string }[];
        flood: { read: number; ring: number; repeated: number };
        drops: number;
        others: number;
        timerSlackNs: number;
      };
      // The kernel takes the ring-capture program (6.3+): what makes --capture auto pick rings.
      expect(ringCaptureRefused()).toBeNull();
      expect(r.noRings).toBeNull();
      // up0's IPv6 sends MLD reports as it comes up: they are not diverted (nor counted among the ring's drops below).
      expect(r.others).toBe(0);
      // Sent from a UDP socket over a veth, whose checksums the stack leaves to the device: the reader finished them.
      expect(r.plain.map((p) => p.via)).toEqual(Array(40).fill('ring'));
      expect(r.plain.map((p) => p.len)).toEqual([...Array(20).fill(142), ...Array(20).fill(1442)]);
      expect(r.plain.every((p) => p.checksum)).toBe(true);
      expect(r.plain.map((p) => p.k)).toEqual(range(0, 40));
      expect(r.plain.every((p) => p.intact)).toBe(true);
      // Each stamped with when the program diverted it (CLOCK_MONOTONIC, on the shared clock), which the pair cannot say.
      expect(r.plain.map((p) => p.diverted)).toEqual(Array(40).fill('in phase'));
      expect(r.gso.map((p) => p.diverted)).toEqual(Array(5).fill('none'));
      // A 4-segment GSO send, segmented by the pair, and the next datagram of its flow behind it, in order.
      expect(r.gso.map((p) => [p.via, p.len, p.checksum])).toEqual([...Array(4).fill(['pair', 1042, true]), ['pair', 142, true]]);
      // A 4 MiB ring holds 16384 small records: the rest were dropped there, each counted.
      expect(r.drops).toBeGreaterThan(0);
      expect(r.flood.read + r.drops, JSON.stringify(r.flood)).toBe(20000);
      expect(r.flood).toEqual({ read: r.flood.ring, ring: r.flood.ring, repeated: 0 });
      // The reader's 20 µs nap, not put off by the kernel's default 50 µs of timer slack.
      expect(r.timerSlackNs).toBe(1000);
    } finally {
      execFileSync('ip', ['netns', 'del', ns]);
    }
  });
});
