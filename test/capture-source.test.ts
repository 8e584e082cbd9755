/**
 * Capture sources (src/client/capture-source.ts) on a veth whose far end is in a
 * namespace of the test's own: frames sent into the near end come back in pool frames,
 * byte for byte, and every one is accounted for — received, dropped by the kernel for
 * want of a frame (XDP), or still waiting in the socket (AF_PACKET).
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachCaptureProgram } from '../src/attach/capture-program.js';
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
});
