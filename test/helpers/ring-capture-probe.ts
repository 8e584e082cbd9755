/**
 * Ring capture (src/client/capture-source.ts's RingSource) driven from inside a network
 * namespace the test made, where the diversion program can be attached to a device of
 * this process's own namespace:
 *   ip netns exec NS node dist/test/helpers/ring-capture-probe.js
 * NS holds `up0` (10.77.0.1/24, with clsact; 10.77.0.9 a static neighbour, so datagrams
 * to it leave by up0) and the capture pair `cap0` (offloads off) / `cap1`. Datagrams sent
 * by python3 from a UDP socket are diverted; the probe reads them and prints one JSON line:
 *   plain:  each datagram of 20 small and 20 large ones: how it came (ring or pair), its
 *           UDP checksum valid, its payload intact, when it was diverted (inside its
 *           phase's sending and reading, by the shared clock; none from the pair);
 *   gso:    a 4-segment UDP GSO send then one plain datagram of the same flow: how each came;
 *   flood:  20000 datagrams sent while nothing reads: how many were read once reading
 *           began (by the ring, and numbers seen twice), and how many the ring counted dropped;
 *   others: frames read that the probe did not send (the namespace's MLD reports, ICMPv6
 *           behind a hop-by-hop header, must stay on the kernel's path);
 *   timerSlackNs: the reading thread's timer slack.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { attachCaptureProgram } from '../../src/attach/capture-program.js';
import { attachDivert, closeCaptureRings, createCaptureRings } from '../../src/attach/divert.js';
import { RingSource, XskSource } from '../../src/client/capture-source.js';
import { FramePool } from '../../src/shm/frame-pool.js';
import { makeClock, newEpoch } from '../../src/clock.js';
import { nativeAddon } from '../../src/transmit/native.js';

const addon = nativeAddon();
const pool = new FramePool(FramePool.allocate(1024, 2048, (u8) => addon.pageOffset(u8)));
const program = attachCaptureProgram('cap1', '');
if (!('mapFd' in program)) throw new Error(`capture program: ${program.why}`);
const rings = createCaptureRings(1);
const pair = new XskSource(pool, '', 'cap1', { mapFd: program.mapFd, queue: 0, ringSize: 1024 });
const epoch = newEpoch();
const clock = makeClock(epoch);
const source = new RingSource(pool, { fd: rings.fds[0], drops: rings.drops, index: 0 }, pair, epoch);
const divert = attachDivert({ dev: 'up0', capture: 'cap0', priority: 1, failMode: 'closed', staleNs: 1e9, rings });
closeCaptureRings(rings);

/**
 * Datagrams from one UDP socket bound to `port` (one flow each call): [payload bytes,
 * UDP_SEGMENT size or 0] each; payload k starts with k (4 bytes, big-endian), and its
 * byte i ≥ 4 is (k + i) & 255.
 */
function send(port: number, datagrams: [number, number][]): void {
  sendingFrom = clock();
  const script = `
import socket, sys, json
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('10.77.0.1', int(sys.argv[1])))
for k, (size, seg) in enumerate(json.load(sys.stdin)):
    s.setsockopt(socket.SOL_UDP, 103, seg)  # UDP_SEGMENT: 0 sends one datagram
    s.sendto(k.to_bytes(4, 'big') + bytes((k + i) & 255 for i in range(4, size)), ('10.77.0.9', 9))
`;
  execFileSync('python3', ['-c', script, String(port)], { input: JSON.stringify(datagrams) });
}

/** The Internet checksum of an IPv4 UDP frame (Ethernet at 0) with its pseudo-header: 0xffff when valid. */
function udpChecksumValid(b: Uint8Array, at: number, len: number): boolean {
  const udp = at + 34;
  const udpLen = len - 34;
  let sum = 17 + udpLen;
  for (let i = at + 26; i < at + 34; i += 2) sum += (b[i] << 8) | b[i + 1];
  for (let i = 0; i < udpLen; i += 2) sum += (b[udp + i] << 8) | (i + 1 < udpLen ? b[udp + i + 1] : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum === 0xffff;
}

/** An IPv4 UDP datagram to port 9 (what send() sends). */
function isTestDatagram(b: Uint8Array, at: number): boolean {
  return b[at + 12] === 0x08 && b[at + 13] === 0x00 && b[at + 23] === 17 && ((b[at + 36] << 8) | b[at + 37]) === 9;
}

/** Bytes 4.. of a payload that starts with its number k are (k + i) & 255 (a GSO segment's k is its first's). */
function payloadIntact(b: Uint8Array, at: number, len: number): boolean {
  const k = new DataView(b.buffer, at, 4).getUint32(0);
  for (let i = 4; i < len; i++) if (b[at + i] !== ((k + i) & 255)) return false;
  return true;
}

const give = (frames: Int32Array, n: number) => source.give(frames, n);
const free = Int32Array.from({ length: 1024 }, (_, i) => i);
give(free, source.room);

/** Frames read that send() did not send. */
let others = 0;

/** Reads until `want` frames came or `quietReads` reads found none. */
/** When the current phase's sending began and its reading ended, on the shared clock. */
let sendingFrom = 0;

function read(
  want: number,
  quietReads = 10,
): { via: 'ring' | 'pair'; len: number; checksum: boolean; k: number; intact: boolean; diverted: 'none' | 'in phase' | 'outside' }[] {
  const out = new Int32Array(64);
  const got = [];
  for (let quiet = 0; got.length < want && quiet < quietReads; ) {
    const n = source.read(out, 50);
    if (n < 0) throw new Error(`read: ${n}`);
    if (n === 0) quiet++;
    for (let i = 0; i < n; i++) {
      const f = out[i];
      const at = pool.offsetOf(f);
      const len = pool.len[f];
      // Not the test's: whatever else the namespace sent that was diverted (none should be: IPv6's are ICMPv6).
      if (!isTestDatagram(pool.bytes, at)) {
        others++;
        continue;
      }
      got.push({
        via: pool.head[f] === 0 ? ('ring' as const) : ('pair' as const),
        len,
        checksum: udpChecksumValid(pool.bytes, at, len),
        k: new DataView(pool.bytes.buffer, at + 42, 4).getUint32(0),
        intact: payloadIntact(pool.bytes, at + 42, len - 42),
        diverted:
          pool.sentAt[f] < 0 ? ('none' as const) : pool.sentAt[f] >= sendingFrom && pool.sentAt[f] <= clock() ? ('in phase' as const) : ('outside' as const),
      });
    }
    give(out, n);
  }
  return got;
}

const plainSizes = [...Array.from({ length: 20 }, () => 100), ...Array.from({ length: 20 }, () => 1400)];
send(
  4000,
  plainSizes.map((s) => [s, 0]),
);
const plain = read(plainSizes.length);

send(4001, [
  [4000, 1000],
  [100, 0],
]);
const gso = read(5);

send(
  4002,
  Array.from({ length: 20000 }, () => [100, 0]),
);
const flooded = read(20000, 20);
/** How many came, by which path, and how many numbers came more than once. */
const flood = {
  read: flooded.length,
  ring: flooded.filter((p) => p.via === 'ring').length,
  repeated: flooded.length - new Set(flooded.map((p) => p.k)).size,
};
const drops = source.drops();

source.close();
addon.closeFd(divert.state);
addon.closeFd(divert.alive);
addon.closeFd(program.mapFd);
execFileSync('tc', ['filter', 'del', 'dev', 'up0', 'egress']);
// What opening the ring set for this thread's naps (RingSource asks for 1 µs; the probe reads on its main thread, whose id is the pid).
const timerSlackNs = Number(readFileSync('/proc/self/timerslack_ns', 'utf8'));
process.stdout.write(`${JSON.stringify({ noRings: divert.noRings, plain, gso, flood, drops, others, timerSlackNs })}\n`);
