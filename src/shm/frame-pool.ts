/**
 * The frame pool: every packet lives in one SharedArrayBuffer, cut into fixed frames, and
 * a frame table (one row per frame, in a second SharedArrayBuffer) is its descriptor.
 *
 * The frame region is the AF_XDP UMEM (transmit ports and capture sockets register it): it
 * starts at `umemOffset`, chosen so the region is page-aligned in memory (a
 * SharedArrayBuffer's backing store is not: it sits 16 bytes past a page for large
 * sizes), which is why the buffer is one page larger than the frames need. Without the
 * native addon the offset is 0.
 *
 * Ownership (the invariant that makes the pool lock-free): a frame has exactly one owner
 * at a time — client (writing) → mailbox → arbiter (queued) → transmit → completion →
 * arbiter → the owning client's free ring. Only the owner writes the frame's bytes and its
 * table row; ownership moves only through SPSC rings, whose publication (Atomics.store of
 * the ring index) orders the owner's plain writes before the next owner's reads.
 *
 * Frame table layout (`meta` buffer, `frames` rows per column):
 *
 * | column  | type    | writer                    | meaning                                   |
 * |---------|---------|---------------------------|-------------------------------------------|
 * | len     | uint32  | client                    | packet length in bytes                    |
 * | head    | uint32  | client                    | where the packet starts in its frame: 0,  |
 * |         |         |                           | or the headroom an AF_XDP receive left    |
 * | cls     | int32   | client                    | class slot the client classified it into  |
 * | flow    | uint32  | client                    | flow hash (5-tuple), for sfq / fq_codel   |
 * | police  | int32   | client                    | policer its filter names, −1 none         |
 * | sub     | int32   | client                    | class slot inside its class's inner qdisc |
 * | owner   | int32   | link set-up (then const)  | client index whose free ring it returns to|
 * | sentAt  | float64 | client                    | client hand-over time (ns, shared clock)  |
 * | queuedAt| float64 | arbiter                   | time the arbiter drained it (ns)          |
 * | leaveAt | float64 | arbiter                   | scheduled departure on the link (ns)      |
 * | releasedAt | float64 | arbiter                | time the arbiter released it to transmit  |
 * |         |         |                           | (written only for frames whose stage      |
 * |         |         |                           | delays are sampled: the tx stage's start) |
 * | charged | uint32  | arbiter                   | length its link's size table charges it   |
 * |         |         |                           | (tc's stab; written only on such links)   |
 */
import { InvalidOptionError } from '../errors.js';
import { markCongestion } from '../net/ecn.js';

/** Frame sizes AF_XDP accepts in aligned mode. */
export const FRAME_SIZES = [2048, 4096] as const;
const PAGE = 4096;

export interface FramePoolLayout {
  /** Frame bytes (plus one page of alignment slack). */
  umem: SharedArrayBuffer;
  /** The frame table. */
  meta: SharedArrayBuffer;
  frames: number;
  frameSize: number;
  /** Byte offset of frame 0 in `umem` (page-aligned in memory when the addon chose it). */
  umemOffset: number;
}

export class FramePool {
  /**
   * @param pageOffset Finds the offset of the first page-aligned byte of a buffer (the
   * native addon knows the address); without it frame 0 is at offset 0.
   */
  static allocate(frames: number, frameSize: number, pageOffset?: (u8: Uint8Array) => number): FramePoolLayout {
    if (!Number.isInteger(frames) || frames < 1 || frames > 1 << 22) {
      throw new InvalidOptionError('poolFrames', `must be an integer in [1, 4194304], got ${frames}`);
    }
    if (!(FRAME_SIZES as readonly number[]).includes(frameSize)) {
      throw new InvalidOptionError('frameSize', `must be one of ${FRAME_SIZES.join(', ')}, got ${frameSize}`);
    }
    const umem = new SharedArrayBuffer(frames * frameSize + PAGE);
    const umemOffset = pageOffset ? pageOffset(new Uint8Array(umem)) : 0;
    return {
      umem,
      meta: new SharedArrayBuffer(frames * (8 + 8 + 8 + 8 + 4 + 4 + 4 + 4 + 4 + 4 + 4 + 4)),
      frames,
      frameSize,
      umemOffset,
    };
  }

  readonly frames: number;
  readonly frameSize: number;
  /** All frame bytes; frame f's packet starts at `offsetOf(f)`. */
  readonly bytes: Uint8Array;
  readonly len: Uint32Array;
  readonly head: Uint32Array;
  readonly cls: Int32Array;
  readonly flow: Uint32Array;
  readonly police: Int32Array;
  readonly sub: Int32Array;
  readonly owner: Int32Array;
  readonly sentAt: Float64Array;
  readonly queuedAt: Float64Array;
  readonly leaveAt: Float64Array;
  readonly releasedAt: Float64Array;
  readonly charged: Uint32Array;
  private readonly base: number;

  constructor(readonly layout: FramePoolLayout) {
    const n = layout.frames;
    this.frames = n;
    this.frameSize = layout.frameSize;
    this.base = layout.umemOffset;
    this.bytes = new Uint8Array(layout.umem);
    // Float64 columns first so they stay 8-byte aligned.
    this.sentAt = new Float64Array(layout.meta, 0, n);
    this.queuedAt = new Float64Array(layout.meta, 8 * n, n);
    this.leaveAt = new Float64Array(layout.meta, 16 * n, n);
    this.releasedAt = new Float64Array(layout.meta, 24 * n, n);
    this.len = new Uint32Array(layout.meta, 32 * n, n);
    this.cls = new Int32Array(layout.meta, 36 * n, n);
    this.owner = new Int32Array(layout.meta, 40 * n, n);
    this.flow = new Uint32Array(layout.meta, 44 * n, n);
    this.police = new Int32Array(layout.meta, 48 * n, n);
    this.sub = new Int32Array(layout.meta, 52 * n, n);
    this.head = new Uint32Array(layout.meta, 56 * n, n);
    this.charged = new Uint32Array(layout.meta, 60 * n, n);
  }

  /** Byte offset of frame `f`'s packet in `bytes` (past the frame's head). */
  offsetOf(f: number): number {
    return this.base + f * this.frameSize + this.head[f];
  }

  /** The frames' bytes, frame 0 first: the region a native port or capture registers (AF_XDP's UMEM). */
  frameRegion(): Uint8Array {
    return new Uint8Array(this.layout.umem, this.base, this.frames * this.frameSize);
  }

  /** ECN: sets CE in frame f's IP header if it is ECN-capable (the arbiter owns the frame then). */
  markCe(f: number): boolean {
    return markCongestion(this.bytes, this.offsetOf(f), this.len[f]);
  }
}
