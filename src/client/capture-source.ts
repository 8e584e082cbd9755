/**
 * Where a capture client's packets come from: a source holds empty pool frames and hands
 * them back full, each frame's length (and, for XDP, where its packet starts: the head)
 * set in the frame table.
 *
 * - XskSource (the default where XDP attaches): an AF_XDP socket on one receive queue of
 *   the capture pair's far end, whose UMEM is the frame pool. Empty frames wait in its
 *   fill ring — the device's buffer, as a socket buffer was — and the kernel writes each
 *   packet straight into one (native/src/xsk_capture.cc).
 * - RingSource (the default where the kernel loads the ring-capture program): the
 *   diversion program copies each frame it can into this client's BPF ring buffer in the
 *   sender's own system call, and the client copies it into a frame it holds
 *   (native/src/ring_capture.cc); the rest (GSO super-packets, …) still come by an
 *   XskSource, which it reads first.
 * - PacketSource (the fallback): an AF_PACKET socket in the device's fanout group, read
 *   with recvmmsg into the frames it holds (native/src/capture.cc).
 */
import { PspatError } from '../errors.js';
import { nativeAddon, type NativeAddon } from '../transmit/native.js';
import { errnoName } from '../errno.js';
import type { FramePool } from '../shm/frame-pool.js';
import { preciseTimedWaits } from '../shm/futex.js';

export interface CaptureSource {
  /** Empty frames it can take now. */
  readonly room: number;
  /** Empty frames it holds to receive into. */
  readonly stocked: number;
  /** Takes `frames[0..count)` (count ≤ room), empty, to receive into. */
  give(frames: Int32Array, count: number): void;
  /** Full frames into `out`, waiting up to timeoutMs for the first; count, or -errno (ENETDOWN, ENXIO: the device is gone). */
  read(out: Int32Array, timeoutMs: number): number;
  /** Packets the kernel dropped since the last call, because this source had no room for them. */
  drops(): number;
  /**
   * Whether `read` leaves in the pool's sentAt when each frame was diverted (shared clock;
   * −1 for a frame it cannot say): where the frame's delay in pspat begins.
   */
  readonly stampsDiverted: boolean;
  close(): void;
}

/** The device's XDP capture: its socket map, and the receive queue of this client. */
export interface XskCaptureSpec {
  mapFd: number;
  queue: number;
  /** Fill and receive ring entries: every frame the client owns fits. */
  ringSize: number;
}

function openFailed(ifname: string, how: string, r: number): PspatError {
  return new PspatError('ERR_PSPAT_CAPTURE', `cannot open ${how} capture on ${ifname} (${errnoName(r)})`);
}

export class XskSource implements CaptureSource {
  readonly stampsDiverted = false;
  private readonly addon: NativeAddon = nativeAddon();
  /** The addon's handle (RingSource waits on this socket too). */
  readonly handle: number;
  private inRing = 0;

  /** `ifname` inside the namespace at `netnsPath` ('' for this one). */
  constructor(
    private readonly pool: FramePool,
    netnsPath: string,
    ifname: string,
    private readonly spec: XskCaptureSpec,
  ) {
    const r = this.addon.xskCaptureOpen(netnsPath, ifname, spec.queue, spec.mapFd, pool.frameRegion(), pool.frameSize, spec.ringSize);
    if (r < 0) throw openFailed(ifname, 'an XDP', r);
    this.handle = r;
  }

  get room(): number {
    return this.spec.ringSize - this.inRing;
  }

  get stocked(): number {
    return this.inRing;
  }

  give(frames: Int32Array, count: number): void {
    // Cannot come up short: the ring has room for every frame the client owns.
    this.inRing += this.addon.xskCaptureFill(this.handle, frames, count);
  }

  read(out: Int32Array, timeoutMs: number): number {
    const n = this.addon.xskCaptureRead(this.handle, out, this.pool.len, this.pool.head, timeoutMs);
    if (n > 0) this.inRing -= n;
    return n;
  }

  drops(): number {
    return this.addon.xskCaptureDrops(this.handle);
  }

  close(): void {
    this.addon.xskCaptureClose(this.handle);
  }
}

/**
 * Empty frames a source copies into itself (ring, packet socket), in the order they are
 * filled: a read fills a prefix, which then leaves for the client.
 */
class FrameStock {
  readonly frames: Int32Array;
  have = 0;

  constructor(capacity: number) {
    this.frames = new Int32Array(capacity);
  }

  get room(): number {
    return this.frames.length - this.have;
  }

  /** Takes frames[from..count). */
  add(frames: Int32Array, from: number, count: number): void {
    for (let i = from; i < count; i++) this.frames[this.have++] = frames[i];
  }

  /** The first `n` (filled by a read) into `out`. */
  takeFilled(out: Int32Array, n: number): void {
    for (let i = 0; i < n; i++) out[i] = this.frames[i];
    this.frames.copyWithin(0, n, this.have);
    this.have -= n;
  }
}

/** A capture thread's ring (divert.ts's CaptureRings): its descriptor, the drop counters', and its index. */
export interface RingCaptureSpec {
  fd: number;
  drops: number;
  index: number;
}

/** Most frames the capture pair's socket holds while a ring reads beside it: a few super-packets' worth. */
const PAIR_FRAMES = 512;

export class RingSource implements CaptureSource {
  readonly stampsDiverted = true;
  private readonly addon: NativeAddon = nativeAddon();
  private readonly handle: number;
  private readonly window: Uint8Array;
  /** Empty frames the ring copies into: every frame of the client but the pair's. */
  private readonly stock: FrameStock;
  private readonly pairFrames: number;

  /**
   * Reads `ring`, and `pair` (the capture pair's XDP socket, whose rings fit every frame of
   * the client) for what the ring cannot carry. The pair keeps a quarter of the client's
   * frames, at most PAIR_FRAMES (what is in its fill ring is the kernel's until a packet
   * comes that way); the ring holds the rest, so the frames go where the packets are.
   */
  constructor(
    private readonly pool: FramePool,
    ring: RingCaptureSpec,
    private readonly pair: XskSource,
    /** The shared clock's epoch (a CLOCK_MONOTONIC reading), which the diverted times count from. */
    private readonly epoch: bigint,
  ) {
    const r = this.addon.ringCaptureOpen(ring.fd, ring.drops, ring.index);
    if (r < 0) {
      pair.close();
      throw new PspatError('ERR_PSPAT_CAPTURE', `cannot open capture ring ${ring.index} (${errnoName(r)})`);
    }
    this.handle = r;
    // Its read naps a few tens of µs when the ring runs dry: not 50 µs more (the default slack).
    preciseTimedWaits();
    this.window = pool.frameRegion();
    this.stock = new FrameStock(pair.room);
    this.pairFrames = Math.min(PAIR_FRAMES, pair.room >> 2);
  }

  get room(): number {
    return this.stock.room;
  }

  /** None while the ring has none: its client then waits for frames, not for packets (the pair's wait in its ring meanwhile). */
  get stocked(): number {
    return this.stock.have > 0 ? this.pair.stocked + this.stock.have : 0;
  }

  /** The pair's share first (it must not run dry), the rest to the ring. */
  give(frames: Int32Array, count: number): void {
    const toPair = Math.min(count, Math.max(0, this.pairFrames - this.pair.stocked));
    if (toPair > 0) this.pair.give(frames, toPair);
    this.stock.add(frames, toPair, count);
  }

  /** The pair's frames first (they may be older), then the ring's; waits on both. */
  read(out: Int32Array, timeoutMs: number): number {
    const fromPair = this.pair.stocked > 0 ? this.pair.read(out, 0) : 0;
    if (fromPair !== 0) {
      // The capture pair's frames carry no time of their diversion.
      for (let i = 0; i < fromPair; i++) this.pool.sentAt[out[i]] = -1;
      return fromPair;
    }
    const pool = this.pool;
    const n = this.addon.ringCaptureRead(
      this.handle,
      this.stock.frames,
      Math.min(this.stock.have, out.length),
      this.window,
      pool.frameSize,
      pool.len,
      pool.head,
      pool.sentAt,
      this.epoch,
      this.pair.handle,
      timeoutMs,
    );
    if (n > 0) this.stock.takeFilled(out, n);
    return n;
  }

  drops(): number {
    return this.pair.drops() + this.addon.ringCaptureDrops(this.handle);
  }

  close(): void {
    this.addon.ringCaptureClose(this.handle);
    this.pair.close();
  }
}

/** Frames a packet source reads into at once. */
const PACKET_BATCH = 64;

export class PacketSource implements CaptureSource {
  readonly stampsDiverted = false;
  private readonly addon: NativeAddon = nativeAddon();
  private readonly handle: number;
  private readonly window: Uint8Array;
  private readonly stock = new FrameStock(PACKET_BATCH);

  /** `ifname` inside the namespace at `netnsPath` ('' for this one), in fanout group `group` (0: none). */
  constructor(
    private readonly pool: FramePool,
    netnsPath: string,
    ifname: string,
    group: number,
  ) {
    const r = this.addon.captureOpen(netnsPath, ifname, group);
    if (r < 0) throw openFailed(ifname, 'a packet', r);
    this.handle = r;
    this.window = pool.frameRegion();
  }

  get room(): number {
    return this.stock.room;
  }

  get stocked(): number {
    return this.stock.have;
  }

  give(frames: Int32Array, count: number): void {
    this.stock.add(frames, 0, count);
  }

  read(out: Int32Array, timeoutMs: number): number {
    const pool = this.pool;
    const n = this.addon.captureRead(this.handle, this.window, pool.frameSize, this.stock.frames, this.stock.have, pool.len, timeoutMs);
    if (n > 0) this.stock.takeFilled(out, n);
    return n;
  }

  drops(): number {
    return this.addon.captureDrops(this.handle);
  }

  close(): void {
    this.addon.captureClose(this.handle);
  }
}
