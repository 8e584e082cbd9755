/**
 * pcap files (the classic libpcap format, nanosecond variant: magic 0xa1b23c4d, link
 * type 1 = Ethernet), little-endian. The writer is the `pcap` backend's sink; the reader
 * serves tests and tools.
 *
 *   file header (24 B): magic u32, version 2.4 (u16, u16), thiszone i32 = 0,
 *                       sigfigs u32 = 0, snaplen u32, linktype u32
 *   record header (16 B): ts seconds u32, ts nanoseconds u32, captured length u32,
 *                         original length u32; then the captured bytes
 */
import { closeSync, openSync, writeSync } from 'node:fs';

const MAGIC_NS = 0xa1b23c4d;
const LINKTYPE_ETHERNET = 1;
const FILE_HEADER = 24;
const RECORD_HEADER = 16;

/** Timestamps stay split: Unix-epoch nanoseconds do not fit a double exactly. */
export interface PcapRecord {
  sec: number;
  nsec: number;
  data: Uint8Array;
}

/** Appends records to a file through one preallocated buffer (no allocation per packet). */
export class PcapWriter {
  private readonly fd: number;
  private readonly buf: Buffer;
  private used = 0;

  constructor(path: string, snaplen: number, bufferBytes = 1 << 20) {
    this.fd = openSync(path, 'w', 0o644);
    this.buf = Buffer.alloc(Math.max(bufferBytes, FILE_HEADER + RECORD_HEADER + snaplen));
    const b = this.buf;
    b.writeUInt32LE(MAGIC_NS, 0);
    b.writeUInt16LE(2, 4);
    b.writeUInt16LE(4, 6);
    b.writeInt32LE(0, 8);
    b.writeUInt32LE(0, 12);
    b.writeUInt32LE(snaplen, 16);
    b.writeUInt32LE(LINKTYPE_ETHERNET, 20);
    this.used = FILE_HEADER;
  }

  /** Writes one packet, `source[off .. off+len)`, stamped `sec` + `nsec` (Unix epoch). */
  write(source: Buffer, off: number, len: number, sec: number, nsec: number): void {
    if (this.used + RECORD_HEADER + len > this.buf.length) this.flush();
    const b = this.buf;
    b.writeUInt32LE(sec >>> 0, this.used);
    b.writeUInt32LE(nsec >>> 0, this.used + 4);
    b.writeUInt32LE(len, this.used + 8);
    b.writeUInt32LE(len, this.used + 12);
    source.copy(b, this.used + RECORD_HEADER, off, off + len);
    this.used += RECORD_HEADER + len;
  }

  flush(): void {
    let done = 0;
    while (done < this.used) done += writeSync(this.fd, this.buf, done, this.used - done);
    this.used = 0;
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}

/** Parses a whole pcap file written by PcapWriter (or any little-endian ns/µs pcap). */
export function readPcap(file: Uint8Array): PcapRecord[] {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  if (file.byteLength < FILE_HEADER) throw new RangeError(`pcap: file too short (${file.byteLength} bytes)`);
  const magic = view.getUint32(0, true);
  if (magic !== MAGIC_NS && magic !== 0xa1b2c3d4) throw new RangeError(`pcap: bad magic 0x${magic.toString(16)}`);
  const unitNs = magic === MAGIC_NS ? 1 : 1000;
  const records: PcapRecord[] = [];
  let at = FILE_HEADER;
  while (at + RECORD_HEADER <= file.byteLength) {
    const caplen = view.getUint32(at + 8, true);
    if (at + RECORD_HEADER + caplen > file.byteLength) throw new RangeError(`pcap: record at byte ${at} runs past the end`);
    records.push({
      sec: view.getUint32(at, true),
      nsec: view.getUint32(at + 4, true) * unitNs,
      data: file.subarray(at + RECORD_HEADER, at + RECORD_HEADER + caplen),
    });
    at += RECORD_HEADER + caplen;
  }
  return records;
}
