/**
 * Test packets: Ethernet + IPv4 + UDP frames carrying a tag (client, class, sequence
 * number) so a receiver can count, order and attribute them.
 *
 * Frame layout (offsets in bytes):
 *   0   Ethernet: dst 02:00:00:00:00:02, src 02:00:00:00:00:01, type 0x0800
 *   14  IPv4: 20 bytes, proto UDP, header checksum filled in
 *   34  UDP: src port 10000 + class, dst port `dport` (default 9, discard), checksum 0 (none)
 *   42  tag: client u16, class u16, sequence u32 (big-endian)
 *   50  payload: left as the frame's previous bytes, or `fillPayload`'s pattern
 *       (byte i = (seq + i) & 0xff) when a receiver checks every byte, or (one-way delay
 *       runs) the sender's clock at 50..57 (`writeStamp`: float64, little-endian, ns on
 *       the shared clock)
 */

/** Ethernet + IPv4 + UDP header bytes: a datagram of n bytes is a frame of n + this. */
export const UDP_FRAME_HEADERS = 42;
/** The tag starts the UDP payload. */
export const TAG_OFFSET = UDP_FRAME_HEADERS;
/** Smallest frame that holds the headers and the tag. */
export const MIN_TEST_FRAME = 50;
/** Where a stamped frame carries its send time. */
export const STAMP_OFFSET = 50;
/** Smallest frame that holds a stamp. */
export const MIN_STAMPED_FRAME = STAMP_OFFSET + 8;

const stampScratch = new Float64Array(1);
const stampBytes = new Uint8Array(stampScratch.buffer);

/** Writes send time `ns` into the frame at `off` (frames are not 8-byte aligned there: byte copy). */
export function writeStamp(bytes: Uint8Array, off: number, ns: number): void {
  stampScratch[0] = ns;
  bytes.set(stampBytes, off + STAMP_OFFSET);
}

const SRC_IP = [10, 77, 0, 1];
const DST_IP = [10, 77, 0, 2];

export interface PacketTag {
  client: number;
  cls: number;
  seq: number;
}

/** UDP's discard port: where test packets go unless a flow names its own port. */
export const DISCARD_PORT = 9;

/** Writes headers and tag for a frame of `len` bytes at `bytes[off..]`. */
export function writeTestFrame(bytes: Uint8Array, off: number, len: number, client: number, cls: number, seq: number, dport = DISCARD_PORT): void {
  // Ethernet
  bytes[off] = 0x02;
  bytes[off + 1] = 0;
  bytes[off + 2] = 0;
  bytes[off + 3] = 0;
  bytes[off + 4] = 0;
  bytes[off + 5] = 0x02;
  bytes[off + 6] = 0x02;
  bytes[off + 7] = 0;
  bytes[off + 8] = 0;
  bytes[off + 9] = 0;
  bytes[off + 10] = 0;
  bytes[off + 11] = 0x01;
  bytes[off + 12] = 0x08;
  bytes[off + 13] = 0x00;
  // IPv4
  const ip = off + 14;
  const ipLen = len - 14;
  bytes[ip] = 0x45;
  bytes[ip + 1] = 0;
  bytes[ip + 2] = ipLen >>> 8;
  bytes[ip + 3] = ipLen & 0xff;
  bytes[ip + 4] = (seq >>> 8) & 0xff;
  bytes[ip + 5] = seq & 0xff; // identification
  bytes[ip + 6] = 0x40;
  bytes[ip + 7] = 0; // don't fragment
  bytes[ip + 8] = 64;
  bytes[ip + 9] = 17;
  bytes[ip + 10] = 0;
  bytes[ip + 11] = 0;
  for (let i = 0; i < 4; i++) {
    bytes[ip + 12 + i] = SRC_IP[i];
    bytes[ip + 16 + i] = DST_IP[i];
  }
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += (bytes[ip + i] << 8) | bytes[ip + i + 1];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  const csum = ~sum & 0xffff;
  bytes[ip + 10] = csum >>> 8;
  bytes[ip + 11] = csum & 0xff;
  // UDP
  const udp = off + 34;
  const udpLen = len - 34;
  const sport = 10000 + (cls & 0x3fff);
  bytes[udp] = sport >>> 8;
  bytes[udp + 1] = sport & 0xff;
  bytes[udp + 2] = dport >>> 8;
  bytes[udp + 3] = dport & 0xff;
  bytes[udp + 4] = udpLen >>> 8;
  bytes[udp + 5] = udpLen & 0xff;
  bytes[udp + 6] = 0;
  bytes[udp + 7] = 0;
  // Tag
  const t = off + TAG_OFFSET;
  bytes[t] = client >>> 8;
  bytes[t + 1] = client & 0xff;
  bytes[t + 2] = cls >>> 8;
  bytes[t + 3] = cls & 0xff;
  bytes[t + 4] = seq >>> 24;
  bytes[t + 5] = (seq >>> 16) & 0xff;
  bytes[t + 6] = (seq >>> 8) & 0xff;
  bytes[t + 7] = seq & 0xff;
}

/** Reads the tag of a frame written by `writeTestFrame`. */
export function readTag(bytes: Uint8Array, off: number): PacketTag {
  const t = off + TAG_OFFSET;
  return {
    client: (bytes[t] << 8) | bytes[t + 1],
    cls: (bytes[t + 2] << 8) | bytes[t + 3],
    seq: ((bytes[t + 4] << 24) | (bytes[t + 5] << 16) | (bytes[t + 6] << 8) | bytes[t + 7]) >>> 0,
  };
}

/** Writes the verifiable payload pattern after the tag. */
export function fillPayload(bytes: Uint8Array, off: number, len: number, seq: number): void {
  for (let i = MIN_TEST_FRAME; i < len; i++) bytes[off + i] = (seq + i) & 0xff;
}

/** True when `frame` (a whole frame, from offset 0) carries the pattern for its tag. */
export function payloadIntact(frame: Uint8Array, seq: number): boolean {
  for (let i = MIN_TEST_FRAME; i < frame.length; i++) if (frame[i] !== ((seq + i) & 0xff)) return false;
  return true;
}
