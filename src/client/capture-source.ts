/**
 * Where a capture client's packets come from: a source holds empty pool frames and hands
 * them back full, each frame's length (and, for XDP, where its packet starts: the head)
 * set in the frame table.
 *
 * - XskSource (the default where XDP attaches): an AF_XDP socket on one receive queue of
 *   the capture pair's far end, whose UMEM is the frame pool. Empty frames wait in its
 *   fill ring — the device's buffer, as a socket buffer was — and the kernel writes each
 *   packet straight into one (native/src/xsk_capture.cc).
 * - PacketSource (the fallback): an AF_PACKET socket in the device's fanout group, read
 *   with recvmmsg into the frames it holds (native/src/capture.cc).
 */
import { PspatError } from '../errors.js';
import { nativeAddon, type NativeAddon } from '../transmit/native.js';
import { errnoName } from '../errno.js';
import type { FramePool } from '../shm/frame-pool.js';

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
  private readonly addon: NativeAddon = nativeAddon();
  private readonly handle: number;
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

/** Frames a packet source reads into at once. */
const PACKET_BATCH = 64;

export class PacketSource implements CaptureSource {
  private readonly addon: NativeAddon = nativeAddon();
  private readonly handle: number;
  private readonly window: Uint8Array;
  private readonly frames = new Int32Array(PACKET_BATCH);
  private have = 0;

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
    return PACKET_BATCH - this.have;
  }

  get stocked(): number {
    return this.have;
  }

  give(frames: Int32Array, count: number): void {
    for (let i = 0; i < count; i++) this.frames[this.have++] = frames[i];
  }

  read(out: Int32Array, timeoutMs: number): number {
    const pool = this.pool;
    const n = this.addon.captureRead(this.handle, this.window, pool.frameSize, this.frames, this.have, pool.len, timeoutMs);
    if (n <= 0) return n;
    for (let i = 0; i < n; i++) out[i] = this.frames[i];
    this.frames.copyWithin(0, n, this.have);
    this.have -= n;
    return n;
  }

  drops(): number {
    return this.addon.captureDrops(this.handle);
  }

  close(): void {
    this.addon.captureClose(this.handle);
  }
}
