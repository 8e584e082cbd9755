/**
 * The pcap backend: "transmits" by appending each released frame to a pcap file, stamped
 * with its scheduled departure on the link (the arbiter's pacing clock), so a capture
 * shows exactly what the scheduler decided and when. Needs no privileges. Frames complete
 * at once, like the null backend.
 */
import type { FramePool } from '../shm/frame-pool.js';
import { PcapWriter } from './pcap.js';
import { NullPort } from './null-port.js';
import { NO_PORT_COUNTERS, type PortCounters, type TxPort } from './port.js';
import type { WallClock } from './ports.js';

export class PcapPort implements TxPort {
  readonly name = 'pcap';
  /** Never faults: there is no device. */
  readonly fault = 0;
  private readonly writer: PcapWriter;
  private readonly source: Buffer;
  private readonly done: NullPort;

  constructor(
    path: string,
    private readonly pool: FramePool,
    private readonly wall: WallClock,
    capacity: number,
  ) {
    this.writer = new PcapWriter(path, pool.frameSize);
    // One Buffer view over the whole pool, so each record is a copy, not an allocation.
    this.source = Buffer.from(pool.layout.umem);
    this.done = new NullPort(capacity);
  }

  get inFlight(): number {
    return this.done.inFlight;
  }

  submit(batch: Int32Array, count: number): number {
    const pool = this.pool;
    const n = this.done.submit(batch, count);
    for (let i = 0; i < n; i++) {
      const f = batch[i];
      // Split into seconds and nanoseconds before adding the epoch: exact integers.
      const ns = this.wall.offsetNs + pool.leaveAt[f];
      const extra = Math.floor(ns / 1e9);
      this.writer.write(this.source, pool.offsetOf(f), pool.len[f], this.wall.sec + extra, Math.floor(ns - extra * 1e9));
    }
    return n;
  }

  reap(done: Int32Array, status: Int32Array, max: number): number {
    return this.done.reap(done, status, max);
  }

  counters(): PortCounters {
    return { ...NO_PORT_COUNTERS };
  }

  close(): void {
    this.writer.close();
  }
}
