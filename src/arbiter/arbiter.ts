/**
 * The arbiter: the one serial stage of the data path (PSPAT's arbiter thread).
 *
 * Roadmap of a pass (`pass`), repeated forever:
 *   1. apply pending control commands (between passes, so no packet is ever half-moved);
 *   2. per link: drain every client mailbox up to `drainBatch` entries, starting from a
 *      rotating client so no mailbox is always first; validate each frame and enqueue it
 *      (a refused frame is counted with its reason and recycled at once);
 *   3. per link: dequeue while the link's clock allows (`linkIdle <= now`), advancing the
 *      clock by each packet's wire time, at most `releaseBatch` packets; hand them to the
 *      transmit port. A shaper (htb) is asked at the link clock's time and may hold its
 *      packets until its `wakeAt`; the link then idles until that time;
 *   4. reap completions: count sent / failed, record transmit delay, recycle;
 *   5. publish recycled frames to each client's free ring, one batch per client.
 * Each frame's delay is recorded per class at three stages: mailbox (at drain), queue (at
 * release), tx (at completion) — src/stats/class-histograms.ts; the loop's own figures
 * (pass time, batch sizes, time parked) in src/stats/loop-stats.ts.
 * When passes find no work, an `adaptive` arbiter parks on its doorbell until a mailbox or
 * the host rings it, or until the earliest pacing deadline or shaper wake-up: at once when
 * what it waits for is the clock (packets queued, none due yet), after spinning
 * `spinPasses` times when it waits for packets to arrive. A `poll` arbiter (placed on a
 * CPU of its own) never parks, so a packet never waits for a futex wake-up.
 *
 * The arbiter does not know it runs in a worker: worker.ts feeds it the start message
 * and a function that fetches commands.
 */
import { DROP_AQM, DROP_NO_CLASS, ENQUEUED, type ClassXstats } from '../../schedulers/types.js';
import { MIN_FRAME_LEN } from '../client/channel.js';
import { Clock } from '../clock.js';
import { tryNativeAddon, type NativeAddon } from '../transmit/native.js';
import { InvalidOptionError, RejectedChangeError } from '../errors.js';
import { FramePool } from '../shm/frame-pool.js';
import { ETH_P_8021AD, ETH_P_8021Q, VLAN_TAG } from '../net/device.js';
import { Doorbell } from '../shm/doorbell.js';
import { SpscRing } from '../shm/spsc-ring.js';
import {
  CLASS_ARRIVED_BYTES,
  CLASS_ARRIVED_PKTS,
  CLASS_DROP_BAD_FRAME,
  CLASS_DROP_DELETED,
  CLASS_DROP_AQM,
  CLASS_DROP_NO_CLASS,
  CLASS_DROP_POLICED,
  CLASS_DROP_SHUTDOWN,
  CLASS_DROP_QUEUE_LIMIT,
  CLASS_DROP_TX_ERROR,
  CLASS_DROPPED_BYTES,
  CLASS_FIELDS,
  CLASS_SENT_BYTES,
  CLASS_SENT_PKTS,
  LINK_DROP_BAD_FRAME,
  LINK_FIELDS,
  LINK_FIRST_RELEASE_NS,
  LINK_IDLE_NS,
  LINK_NOW_NS,
  LINK_PARKS,
  LINK_PASSES,
  LINK_PORT_FAULT,
  LINK_TX_ERRORS,
  LINK_WIRE_BYTES,
} from '../stats/layout.js';
import { STAGE_MAILBOX, STAGE_QUEUE, STAGE_TX } from '../stats/class-histograms.js';
import {
  LoopStats,
  LOOP_BUSY_PASSES,
  LOOP_NOW_NS,
  LOOP_PARKED_NS,
  LOOP_PARKS,
  LOOP_PASSES,
  LOOP_STARTED_NS,
  LOOP_TID,
  LOOP_FULL_PASSES,
  LOOP_STALLS,
  LOOP_STALL_NS,
  LOOP_STALL_MAX_NS,
  LOOP_YIELDS,
  STALL_NS,
} from '../stats/loop-stats.js';
import { CTL_DOORBELL, CTL_PENDING, type ArbiterStart, type Reply, type Request } from './control.js';
import type { LinkSnapshot } from '../stats/link-snapshot.js';
import { LinkState, sizeTableOf, type ClientSlot } from './link-state.js';
import { WIRE_OVERHEAD_BYTES } from './pacer.js';
import { inIndexOrder } from './frame-order.js';
import type { WallClock } from '../transmit/ports.js';
import type { ThreadPlacement } from '../placement.js';
import { BEAT_NS, DivertState } from '../attach/divert.js';
import type { ClockEpoch } from '../clock.js';

/**
 * How the arbiter parks until a pacing deadline, set by how late its timed waits end: only
 * for one at least `minNs` away, waking `earlyNs` before it (and spinning the rest).
 */
export interface ParkTimes {
  minNs: number;
  earlyNs: number;
}

/**
 * With the timer slack the arbiter sets (futex.ts's preciseTimedWaits) its timed waits end
 * about 20 µs late on this VM — about what the kernel's own hrtimer-driven htb is late
 * here too. Spinning through every shorter wait cost 80% of a CPU in `npm run
 * bench:egress`'s delay phase, where releases of three shaped classes come every 16 µs on
 * average, taken from the capture client and the senders it waits for (BENCHMARKS.md).
 */
export const PRECISE_PARKS: ParkTimes = { minNs: 20_000, earlyNs: 5_000 };
/** Without the addon the slack stays the kernel's default 50 µs: a timed wait ends ≈ 75 µs late. */
export const COARSE_PARKS: ParkTimes = { minNs: 150_000, earlyNs: 80_000 };
/** `held` values: a frame the arbiter holds, and one whose stage delays it records. */
const HELD = 1;
const HELD_SAMPLED = 2;
/** A link whose port is faulted is looked at this often (the port checks its device when reaped). */
const FAULT_POLL_NS = 50e6;

/**
 * Whether the device still takes frame `f` of `len` bytes, longer than its limit: only 4
 * bytes over it, with a VLAN tag. Called for such frames alone, so the per-packet test is
 * the length comparison at the call site (a call V8 might leave out of line is the rare path).
 */
function fitsAsVlanFrame(pool: FramePool, f: number, len: number, maxFrameLen: number): boolean {
  if (len > maxFrameLen + VLAN_TAG || len > pool.frameSize) return false;
  const at = pool.offsetOf(f) + 12;
  const type = (pool.bytes[at] << 8) | pool.bytes[at + 1];
  return type === ETH_P_8021Q || type === ETH_P_8021AD;
}

export class Arbiter {
  private readonly pool: FramePool;
  private readonly clock: Clock;
  /**
   * The time this pass began, which link clocks are compared with, and the time the last
   * mailbox was drained. Fields, not arguments: a double passed to a method V8 does not
   * inline is boxed in a new heap number, and an arbiter that allocates per pass scavenges
   * (clock.ts).
   */
  private passNow = 0;
  private drainedAt = 0;
  private readonly control: Int32Array;
  private readonly doorbell: Doorbell;
  private readonly links: (LinkState | undefined)[] = [];
  private readonly clients: (ClientSlot | undefined)[] = [];
  /** Per client: frames to return on its free ring at the end of the pass. */
  private readonly returns: (Int32Array | undefined)[] = [];
  private readonly returnCount: number[] = [];
  /**
   * Non-zero while the arbiter holds the frame (queued or in transmit): catches double
   * sends. HELD_SAMPLED marks a frame whose stage delays are recorded (ClassHistograms.sample).
   */
  private readonly held: Uint8Array;
  private readonly reaped: Int32Array;
  private readonly reapStatus: Int32Array;
  private readonly drainBatch: number;
  private readonly releaseBatch: number;
  /** Where the transmit workers of this arbiter's links run. */
  private readonly txPlacement: ThreadPlacement;
  /** Idle passes before parking; Infinity for a polling arbiter. */
  private readonly spinPasses: number;
  /** sched_yield for a spinning arbiter (the addon's); null for a polling one, or without the addon. */
  private readonly yielder: NativeAddon | null;
  /**
   * A spinning arbiter that has just woken a client parked for frames yields its CPU on its
   * next idle pass: where it shares the CPUs with its clients (unplaced, the default), the
   * client it woke may be waiting for the very CPU it spins on. Once per wake-up, not on
   * every idle pass: a thread that keeps yielding pushes its own deadline back each time
   * (EEVDF), and on a host busy with other work it then waits behind that work's slices —
   * `bench e2e --load-hogs 2` made 350 stalls a window of such a spin. `pspat demo` (4
   * generators, 2 CPUs): median 4.74 → 5.01 Mpps in eleven pairs (BENCHMARKS.md).
   */
  private yieldOwed = false;
  /**
   * How early a packet may be released, ns (0 for a polling arbiter). A parking arbiter
   * does not park for less than `parkTimes.minNs`, and it used to spin through each such
   * wait: in `npm run bench:egress`'s delay phase, shapers due every few tens of µs kept it
   * at half a CPU, taken from the capture client and the senders (BENCHMARKS.md). Anything
   * due within minNs leaves now instead, so the arbiter parks for the rest. That is a
   * burst of at most minNs of the rate, as the kernel's own htb sends when its timer
   * fires that late.
   */
  private readonly releaseAheadNs: number;
  private stopping: { drain: boolean; deadline: number; seq: number } | null = null;
  private readonly loop: LoopStats;
  /** Nobody notifies it: `stall` waits on it for its full time. */
  private readonly stallWord = new Int32Array(new SharedArrayBuffer(4));
  /** Bound once: the scheduler calls it for every frame an eviction (`evict`) drops. */
  private readonly evictDropped = (f: number): void => this.dropHeld(this.evictLink!, f, this.evictReason);
  private evictLink: LinkState | null = null;
  private evictReason = CLASS_DROP_DELETED;
  /** Wall clock = sec s + (offsetNs + shared clock) ns: turns release times into pcap time. */
  private readonly wallClock: WallClock;
  private readonly epoch: ClockEpoch;
  /** Egress diversion heartbeats of the links' taken-over devices; stamped every BEAT_NS. */
  private readonly heartbeats = new Map<number, DivertState>();
  private lastBeat = -Infinity;
  /** Whether the last pass found a full batch waiting (LOOP_FULL_PASSES). */
  private lastPassFull = false;
  /** When this loop iteration began; Infinity after a park or a command, which may take long by design (LOOP_STALLS). */
  private iterationFrom = Infinity;
  /** A delay being recorded (ns): histograms read it from here, not as an argument (histogram.ts recordAt says why). */
  private readonly span = new Float64Array(1);

  constructor(
    start: ArbiterStart,
    private readonly nextRequest: () => Request | undefined,
    private readonly reply: (r: Reply) => void,
    /** The kernel id of the thread the arbiter runs on (−1 unknown), for readers of its placement. */
    threadId = -1,
    private readonly parkTimes: ParkTimes = COARSE_PARKS,
  ) {
    this.pool = new FramePool(start.pool);
    this.epoch = start.epoch;
    this.clock = new Clock(start.epoch);
    const wallMs = Date.now();
    this.clock.read();
    this.wallClock = { sec: Math.floor(wallMs / 1000), offsetNs: (wallMs % 1000) * 1e6 - this.clock.ns };
    this.control = new Int32Array(start.control);
    this.doorbell = new Doorbell(this.control, CTL_DOORBELL, () => {
      this.clock.read();
      return this.clock.ns;
    });
    this.held = new Uint8Array(this.pool.frames);
    this.drainBatch = start.options.drainBatch;
    this.releaseBatch = start.options.releaseBatch;
    this.txPlacement = start.options.txPlacement;
    this.spinPasses = start.options.wait === 'poll' ? Infinity : start.options.spinPasses;
    this.yielder = start.options.wait === 'poll' ? null : tryNativeAddon();
    this.releaseAheadNs = start.options.wait === 'poll' ? 0 : parkTimes.minNs;
    this.loop = new LoopStats(start.loopStats);
    this.loop.words[LOOP_TID] = threadId;
    this.reaped = new Int32Array(this.releaseBatch);
    this.reapStatus = new Int32Array(this.releaseBatch);
  }

  /** Runs passes until a `stop` command completes. */
  run(): void {
    const loop = this.loop.words;
    let idle = 0;
    const clock = this.clock;
    clock.read();
    loop[LOOP_STARTED_NS] = clock.ns;
    for (;;) {
      clock.read();
      const now = clock.ns;
      this.endIteration();
      this.iterationFrom = now;
      this.passNow = now;
      const work = this.pass();
      loop[LOOP_PASSES]++;
      loop[LOOP_NOW_NS] = now;
      if (this.heartbeats.size > 0 && now - this.lastBeat >= BEAT_NS) this.beat();
      if (this.stopping !== null && this.finishedStopping()) return;
      if (work > 0) {
        // Busy before full: a reader taking full first, then busy, never sees more full passes than busy ones.
        loop[LOOP_BUSY_PASSES]++;
        if (this.lastPassFull) loop[LOOP_FULL_PASSES]++;
        clock.read();
        this.span[0] = clock.ns - now;
        this.loop.passTime.recordFrom(this.span, 0);
        idle = 0;
      } else if (++idle >= this.spinPasses || (this.spinPasses !== Infinity && this.anyQueued())) {
        // Spinning waits for arrivals; packets already queued wait for a time park knows.
        this.park();
        idle = 0;
      } else if (this.yieldOwed) {
        this.yieldOwed = false;
        loop[LOOP_YIELDS]++;
        this.yielder!.yieldCpu();
      }
    }
  }

  /**
   * Ends the loop iteration begun at iterationFrom at the clock's last reading: one of
   * STALL_NS or more is a stall. It and the methods below take their times from the clock
   * or from `passNow`, not as arguments: a double passed to a method V8 leaves out of line
   * is a new heap number per call, and the daemon's arbiter (htb, heartbeats, parks) then
   * collected garbage every few hundred milliseconds, pauses of up to 16 ms.
   */
  private endIteration(): void {
    const took = this.clock.ns - this.iterationFrom;
    if (took < STALL_NS) return;
    const loop = this.loop.words;
    loop[LOOP_STALLS]++;
    loop[LOOP_STALL_NS] += took;
    if (took > loop[LOOP_STALL_MAX_NS]) loop[LOOP_STALL_MAX_NS] = took;
  }

  /** Tells the diversion programs of the taken-over devices that this arbiter is alive. */
  private beat(): void {
    const now = this.passNow;
    const monotonic = this.epoch + BigInt(Math.round(now));
    for (const h of this.heartbeats.values()) h.stamp(monotonic);
    this.lastBeat = now;
  }

  /** One pass over every link, at `passNow`; returns the number of frames moved. */
  private pass(): number {
    // Acquires commands the host posted before setting the flag. A command may take time
    // (a stall, a large class change): the pass then paces by the clock after it.
    if (Atomics.load(this.control, CTL_PENDING) !== 0) {
      this.applyCommands();
      this.clock.read();
      this.passNow = this.clock.ns;
      this.iterationFrom = Infinity;
    }
    // The rare calls below (commands, the MTU look, a removal's end, the stop) read the
    // pass's time from passNow or LINK_NOW_NS, as endIteration explains; passed `now`, V8
    // boxed it ahead of their branch, a heap number every pass (BENCHMARKS.md).
    const now = this.passNow;
    let work = 0;
    let full = false;
    // Indexed, not for…of: an array iterator is an allocation V8 does not always remove.
    for (let l = 0; l < this.links.length; l++) {
      const link = this.links[l];
      if (link === undefined) continue;
      link.stats[LINK_PASSES]++;
      link.stats[LINK_NOW_NS] = now;
      link.stats[LINK_PORT_FAULT] = link.port.fault;
      if (now >= link.nextMtuLook) link.lookAtDevice();
      if (this.stopping === null || this.stopping.drain) {
        const drained = this.drain(link);
        work += drained;
        if (drained > 0 && drained >= Math.min(link.clients.length * this.drainBatch, this.releaseBatch)) full = true;
      }
      const released = this.release(link);
      work += released;
      // A full batch may also wait in the queues, drained in earlier passes: an arbiter
      // slower than its clients holds most of their frames there, and drains again only
      // the few it has returned, in small batches.
      if (released >= this.releaseBatch) full = true;
      work += this.reap(link);
      if (link.removing !== null) this.finishRemoving(link);
    }
    this.publishReturns();
    this.lastPassFull = full;
    return work;
  }

  private drain(link: LinkState): number {
    const n = link.clients.length;
    let total = 0;
    for (let k = 0; k < n; k++) {
      const client = link.clients[(link.rr + k) % n];
      const mb = client.mailbox;
      const count = mb.peek(this.drainBatch);
      if (count === 0) continue;
      // The client may have stamped this batch after the pass began: read the clock again,
      // so its mailbox wait is measured from a later time than its stamp.
      this.clock.read();
      this.drainedAt = this.clock.ns;
      const base = mb.consIndex();
      for (let i = 0; i < count; i++) this.admit(link, client.id, mb.slots[(base + i) & mb.mask]);
      mb.release(count);
      client.drained += count;
      total += count;
    }
    if (n > 0) link.rr = (link.rr + 1) % n;
    return total;
  }

  /** Validates one frame from client `owner`'s mailbox, drained at `drainedAt`, and hands it to the scheduler. */
  private admit(link: LinkState, owner: number, f: number): void {
    const pool = this.pool;
    const now = this.drainedAt;
    // A frame index that is out of range, not this client's, or already held by the
    // arbiter (sent twice) cannot be recycled safely: count it and leave it alone.
    if (!(f >= 0 && f < pool.frames) || pool.owner[f] !== owner || this.held[f] !== 0) {
      link.stats[LINK_DROP_BAD_FRAME]++;
      return;
    }
    const len = pool.len[f];
    const cls = pool.cls[f];
    if (!(cls >= 0 && cls < link.maxClasses)) {
      link.stats[LINK_DROP_BAD_FRAME]++;
      this.recycle(f);
      return;
    }
    const sampled = link.histograms.sample(cls);
    this.held[f] = sampled ? HELD_SAMPLED : HELD;
    const base = LINK_FIELDS + cls * CLASS_FIELDS;
    link.stats[base + CLASS_ARRIVED_PKTS]++;
    link.stats[base + CLASS_ARRIVED_BYTES] += len;
    if (len < MIN_FRAME_LEN || (len > link.maxFrameLen && !fitsAsVlanFrame(pool, f, len, link.maxFrameLen))) {
      this.dropHeld(link, f, CLASS_DROP_BAD_FRAME);
      return;
    }
    pool.queuedAt[f] = now;
    if (sampled) {
      this.span[0] = now - pool.sentAt[f];
      link.histograms.record(cls, STAGE_MAILBOX, this.span, 0);
    }
    // Under a size table (tc's stab) policers and schedulers count what it charges, as the kernel's root qdisc does.
    let charged = len;
    if (link.sizeTable !== null) {
      charged = link.sizeTable.charge(len);
      pool.charged[f] = charged;
    }
    // A link without policers does not read the frame's policer: one cache line less per packet.
    if (link.policers.size > 0 && pool.police[f] >= 0 && !link.policers.admit(pool.police[f], charged, now)) {
      this.dropHeld(link, f, CLASS_DROP_POLICED);
      return;
    }
    const verdict = link.scheduler.enqueue(f);
    if (verdict !== ENQUEUED) {
      this.dropHeld(link, f, verdict === DROP_NO_CLASS ? CLASS_DROP_NO_CLASS : CLASS_DROP_QUEUE_LIMIT);
    }
  }

  /**
   * Releases what the link's clock allows and submits it to the port. Frames the port
   * cannot take yet (its ring is full) stay in `txBatch` and go first next pass; nothing
   * new is released meanwhile, so the port's backpressure holds the link clock back.
   */
  private release(link: LinkState): number {
    const now = this.passNow;
    const horizon = now + this.releaseAheadNs;
    const sched = link.scheduler;
    if (link.port.fault !== 0) {
      // The device cannot transmit: the queues hold (to their limits) until the port has
      // recovered, and the time it was down is not credit.
      link.dry = true;
      return 0;
    }
    if (link.txPending > 0) {
      const moved = this.submitPending(link);
      if (link.txPending > 0) return moved;
    }
    if (sched.backlog === 0) {
      link.dry = true;
      return 0;
    }
    // The first packet after an empty spell restarts the clock: idleness is not credit.
    if (link.dry) {
      if (link.linkIdle < now) link.linkIdle = now;
      link.dry = false;
    } else {
      // Nor is time the arbiter missed (descheduled, a GC pause, a long command): the
      // clock keeps at most maxLagNs of it (early release included), so what follows a
      // stall is one bounded burst, not everything the link could have sent meanwhile.
      const oldest = horizon - Math.max(link.maxLagNs, this.releaseAheadNs);
      if (link.linkIdle < oldest) link.linkIdle = oldest;
    }
    const pool = this.pool;
    const batch = link.txBatch;
    let n = 0;
    let wireBytes = 0;
    link.heldUntil = 0;
    while (n < this.releaseBatch && link.linkIdle <= horizon) {
      link.clock[0] = link.linkIdle;
      const f = sched.dequeue();
      if (f < 0) {
        // A shaper out of tokens: the link idles until it may send (its wakeAt). If that
        // time has passed already, or comes within releaseAheadNs, the next packet starts
        // then, not at the stale clock.
        const wake = sched.wakeAt;
        if (wake === Infinity || wake <= link.linkIdle) break;
        if (wake > horizon) {
          link.heldUntil = wake;
          break;
        }
        link.linkIdle = wake;
        continue;
      }
      const len = pool.len[f];
      if (len > link.maxFrameLen && !fitsAsVlanFrame(pool, f, len, link.maxFrameLen)) {
        // Admitted before the device's MTU was lowered (LinkState.lookAtDevice).
        this.dropHeld(link, f, CLASS_DROP_BAD_FRAME);
        continue;
      }
      const wire = len + WIRE_OVERHEAD_BYTES;
      if (link.releasedLens !== null) link.releasedLens[len]++;
      pool.leaveAt[f] = link.linkIdle; // starts on the wire when the previous one ends
      if (this.held[f] === HELD_SAMPLED) {
        this.span[0] = now - pool.queuedAt[f];
        link.histograms.record(pool.cls[f], STAGE_QUEUE, this.span, 0);
        pool.releasedAt[f] = now; // the tx stage's start, read at reap for sampled frames alone
      }
      link.linkIdle += wire * link.wireNsPerByte;
      wireBytes += wire;
      batch[n++] = f;
    }
    if (n === 0) return 0;
    this.loop.batchSize.record(n);
    if (link.stats[LINK_FIRST_RELEASE_NS] === 0) link.stats[LINK_FIRST_RELEASE_NS] = now;
    link.stats[LINK_WIRE_BYTES] += wireBytes;
    link.stats[LINK_IDLE_NS] = link.linkIdle;
    link.txPending = n;
    this.submitPending(link);
    return n;
  }

  /** Submits `txBatch[0..txPending)`, keeping what the port refused at the front. */
  private submitPending(link: LinkState): number {
    const n = link.txPending;
    const accepted = link.port.submit(link.txBatch, n);
    if (accepted > 0) link.txBatch.copyWithin(0, accepted, n);
    link.txPending = n - accepted;
    return accepted;
  }

  /** Collects finished frames from the port: counts them, records delay, recycles. */
  private reap(link: LinkState): number {
    const pool = this.pool;
    const stats = link.stats;
    let total = 0;
    for (;;) {
      const n = link.port.reap(this.reaped, this.reapStatus, this.reaped.length);
      if (n === 0) return total;
      // The pass's clock predates the submit that may have just completed these: read it again.
      this.clock.read();
      const done = this.clock.ns;
      for (let i = 0; i < n; i++) {
        const f = this.reaped[i];
        if (this.reapStatus[i] !== 0) {
          stats[LINK_TX_ERRORS]++;
          this.dropHeld(link, f, CLASS_DROP_TX_ERROR);
          continue;
        }
        const cls = pool.cls[f];
        const base = LINK_FIELDS + cls * CLASS_FIELDS;
        stats[base + CLASS_SENT_PKTS]++;
        stats[base + CLASS_SENT_BYTES] += pool.len[f];
        if (this.held[f] === HELD_SAMPLED) {
          this.span[0] = done - pool.releasedAt[f];
          link.histograms.record(cls, STAGE_TX, this.span, 0);
        }
        this.held[f] = 0;
        // recycle(f), written out: where reap is inlined into the pass, V8 may run out of
        // inlining budget and leave it a call per packet (BENCHMARKS.md).
        const owner = pool.owner[f];
        const buf = this.returns[owner];
        if (buf !== undefined) buf[this.returnCount[owner]++] = f;
      }
      total += n;
      if (n < this.reaped.length) return total;
    }
  }

  /** Counts a held frame as dropped for `reason` and recycles it. */
  private dropHeld(link: LinkState, f: number, reason: number): void {
    const cls = this.pool.cls[f];
    const base = LINK_FIELDS + cls * CLASS_FIELDS;
    link.stats[base + reason]++;
    link.stats[base + CLASS_DROPPED_BYTES] += this.pool.len[f];
    this.held[f] = 0;
    this.recycle(f);
  }

  private recycle(f: number): void {
    const owner = this.pool.owner[f];
    const buf = this.returns[owner];
    // A frame whose client detached has nowhere to go; it is accounted already.
    if (buf === undefined) return;
    buf[this.returnCount[owner]++] = f;
  }

  private publishReturns(): void {
    for (let c = 0; c < this.clients.length; c++) {
      const n = this.returnCount[c];
      if (n === 0 || n === undefined) continue;
      const frames = this.returns[c]!;
      // Back in index order, whatever order the scheduler sent them in (frame-order.ts).
      const client = this.clients[c]!;
      inIndexOrder(frames, n, client.firstFrame, client.returnBits);
      // Cannot come up short: the free ring holds every frame the client owns.
      const wakes = client.free.wakes;
      client.free.push(frames, 0, n);
      if (client.free.wakes !== wakes && this.yielder !== null) this.yieldOwed = true;
      this.returnCount[c] = 0;
    }
  }

  /** Parks until an arrival, a command or the first time a link may send after `passNow`. */
  private park(): void {
    const now = this.passNow;
    let waitNs = Infinity;
    // Indexed, not for…of, here and below: an array iterator is an allocation V8 does not always remove.
    for (let l = 0; l < this.links.length; l++) {
      const link = this.links[l];
      if (link === undefined) continue;
      if (link.port.fault !== 0) {
        waitNs = Math.min(waitNs, FAULT_POLL_NS); // the port looks at its device when reaped
        continue;
      }
      if (link.inTransmit > 0) return; // completions are due: keep polling
      if (link.scheduler.backlog > 0) waitNs = Math.min(waitNs, Math.max(link.linkIdle, link.heldUntil) - now);
    }
    if (this.stopping !== null) waitNs = Math.min(waitNs, this.stopping.deadline - now);
    // A parked arbiter still stamps its heartbeats: idle is not dead.
    if (this.heartbeats.size > 0) waitNs = Math.min(waitNs, this.lastBeat + BEAT_NS - now);
    if (waitNs < this.parkTimes.minNs) return;
    const token = this.doorbell.arm();
    // Re-check after announcing the park (doorbell.ts explains why nothing is missed).
    if (this.anyMailboxReady() || Atomics.load(this.control, CTL_PENDING) !== 0) {
      this.doorbell.disarm();
      return;
    }
    const parks = ++this.loop.words[LOOP_PARKS];
    for (let l = 0; l < this.links.length; l++) {
      const link = this.links[l];
      if (link !== undefined) link.stats[LINK_PARKS] = parks;
    }
    this.clock.read();
    const parkedAt = this.clock.ns;
    // The iteration ends here, not when the arbiter runs again: a stall before the park still counts.
    this.endIteration();
    this.doorbell.park(token, waitNs === Infinity ? Infinity : (waitNs - this.parkTimes.earlyNs) / 1e6);
    this.clock.read();
    this.loop.words[LOOP_PARKED_NS] += this.clock.ns - parkedAt;
    const woke = this.doorbell.wakeLatency(this.clock.ns);
    if (woke >= 0) {
      this.span[0] = woke;
      this.loop.wake.recordFrom(this.span, 0);
    }
    this.iterationFrom = Infinity;
  }

  /** Whether any link holds queued packets (none of which the last pass could release). */
  private anyQueued(): boolean {
    for (let l = 0; l < this.links.length; l++) {
      const link = this.links[l];
      if (link !== undefined && link.scheduler.backlog > 0) return true;
    }
    return false;
  }

  private anyMailboxReady(): boolean {
    for (let i = 0; i < this.clients.length; i++) {
      const c = this.clients[i];
      if (c !== undefined && c.mailbox.peek(1) > 0) return true;
    }
    return false;
  }

  // ---- control (between passes) ----

  private applyCommands(): void {
    const now = this.passNow;
    // Clears the flag before reading, so a command posted meanwhile sets it again.
    Atomics.store(this.control, CTL_PENDING, 0);
    for (let req = this.nextRequest(); req !== undefined; req = this.nextRequest()) {
      try {
        const result = this.apply(req, now);
        if (req.op === 'stop' || req.op === 'removeLink') continue; // answered when done
        if (result === undefined) this.reply({ seq: req.seq, ok: true });
        else if ('reclaimed' in result) this.reply({ seq: req.seq, ok: true, reclaimed: result.reclaimed, drained: result.drained });
        else if ('xstats' in result && !('stats' in result)) this.reply({ seq: req.seq, ok: true, xstats: result.xstats });
        else this.reply({ seq: req.seq, ok: true, snapshot: result });
      } catch (e) {
        const err = e as Error & { code?: string };
        this.reply({ seq: req.seq, ok: false, error: { name: err.name, code: err.code, message: err.message } });
      }
    }
    this.publishReturns();
  }

  private apply(req: Request, now: number): LinkSnapshot | { reclaimed: number; drained: number } | { xstats: (ClassXstats | null)[] } | undefined {
    switch (req.op) {
      case 'addLink': {
        if (this.links[req.linkId] !== undefined) throw new RejectedChangeError(`link ${req.linkId} exists`);
        const drop = (f: number, reason: number): void => this.dropHeld(link, f, reason === DROP_AQM ? CLASS_DROP_AQM : CLASS_DROP_QUEUE_LIMIT);
        const link: LinkState = new LinkState(
          req.linkId,
          req.options,
          req.stats,
          req.histograms,
          this.pool,
          this.releaseBatch,
          this.wallClock,
          this.txPlacement,
          drop,
        );
        for (const c of req.options.classes) link.scheduler.addClass(c.slot!, c);
        this.links[req.linkId] = link;
        return undefined;
      }
      case 'attachClient': {
        const link = this.linkOf(req.linkId);
        const slot: ClientSlot = {
          id: req.clientId,
          // Mailbox producers ring the arbiter's doorbell, not one of their own.
          mailbox: new SpscRing(req.mailbox, this.doorbell),
          free: new SpscRing(req.free),
          drained: 0,
          firstFrame: req.first,
          returnBits: new Int32Array(Math.ceil(req.frames / 32)),
        };
        this.clients[req.clientId] = slot;
        this.returns[req.clientId] = new Int32Array(slot.free.size);
        this.returnCount[req.clientId] = 0;
        link.clients.push(slot);
        return undefined;
      }
      case 'addClass':
        this.linkOf(req.linkId).scheduler.addClass(req.spec.slot, req.spec);
        return undefined;
      case 'changeClass':
        this.linkOf(req.linkId).scheduler.changeClass(req.slot, req.params);
        return undefined;
      case 'deleteClass': {
        const link = this.linkOf(req.linkId);
        this.evict(link, CLASS_DROP_DELETED, (drop) => link.scheduler.deleteClass(req.slot, drop));
        return undefined;
      }
      case 'setScheduler': {
        const link = this.linkOf(req.linkId);
        // Built and filled before anything changes, so a refused class (or size table) leaves the old one.
        const sizeTable = sizeTableOf(req.params);
        const next = link.newScheduler(req.scheduler, req.params);
        for (const c of req.classes) next.addClass(c.slot, c);
        this.evictAll(link);
        link.scheduler = next;
        link.sizeTable = sizeTable;
        return undefined;
      }
      case 'setPolicers':
        this.linkOf(req.linkId).policers.set(req.policers);
        return undefined;
      case 'reclaimClient': {
        const link = this.linkOf(req.linkId);
        const client = link.clients.find((c) => c.id === req.clientId);
        if (client === undefined) throw new RejectedChangeError(`client ${req.clientId} is not attached to link ${req.linkId}`);
        while (this.drain(link) > 0);
        this.publishReturns();
        const pool = this.pool;
        const mine: number[] = [];
        for (let f = 0; f < pool.frames; f++) if (pool.owner[f] === req.clientId && this.held[f] === 0) mine.push(f);
        client.free.resetForNewConsumer(Int32Array.from(mine));
        return { reclaimed: mine.length, drained: client.drained };
      }
      case 'detachClients': {
        const link = this.linkOf(req.linkId);
        // Whatever the clients published before they stopped is theirs to account for: admit it.
        while (this.drain(link) > 0);
        this.publishReturns();
        for (const c of link.clients) {
          this.clients[c.id] = undefined;
          this.returns[c.id] = undefined;
        }
        link.clients.length = 0;
        return undefined;
      }
      case 'removeLink': {
        const link = this.linkOf(req.linkId);
        if (link.clients.length > 0) throw new RejectedChangeError(`link ${req.linkId} has ${link.clients.length} clients attached`);
        this.evictAll(link);
        link.removing = req.seq;
        return undefined;
      }
      case 'snapshot':
        // Read the clock again: a command before this one in the same batch may have taken time (a stall).
        this.clock.read();
        return this.linkOf(req.linkId).snapshot(this.clock.ns, req.histograms ? 'shared' : 'none');
      case 'xstats':
        return { xstats: this.linkOf(req.linkId).xstats() };
      case 'stall':
        Atomics.wait(this.stallWord, 0, 0, req.ms);
        return undefined;
      case 'heartbeat': {
        this.linkOf(req.linkId);
        if (req.fd < 0) {
          this.heartbeats.delete(req.linkId);
          return undefined;
        }
        const h = new DivertState(req.fd);
        this.heartbeats.set(req.linkId, h);
        // Stamped now, not at the pass's start: the pass paces by the clock after its commands anyway.
        this.clock.read();
        this.passNow = this.clock.ns;
        this.beat();
        return undefined;
      }
      case 'stop':
        this.stopping = { drain: req.drain, deadline: now + req.timeoutMs * 1e6, seq: req.seq };
        return undefined;
    }
  }

  /**
   * Runs a scheduler change that gives frames back (`change` passes `drop` to it): each is
   * counted as dropped from `link` under `reason` (a CLASS_DROP_* field) and recycled.
   */
  private evict(link: LinkState, reason: number, change: (drop: (f: number) => void) => void): void {
    this.evictLink = link;
    this.evictReason = reason;
    change(this.evictDropped);
    this.evictLink = null;
  }

  /** Drops everything `link`'s scheduler holds, counted under `reason`. */
  private evictAll(link: LinkState, reason = CLASS_DROP_DELETED): void {
    this.evict(link, reason, (drop) => link.scheduler.reset(drop));
  }

  /** Ends a removed link once its port has nothing in flight; answers the removeLink. */
  private finishRemoving(link: LinkState): void {
    if (link.inTransmit > 0) return;
    const snapshot = link.snapshot(this.passNow);
    link.port.close();
    this.links[link.id] = undefined;
    this.heartbeats.delete(link.id);
    this.reply({ seq: link.removing!, ok: true, snapshot });
  }

  private linkOf(id: number): LinkState {
    const link = this.links[id];
    if (link === undefined) throw new InvalidOptionError('link', `no link ${id}`);
    return link;
  }

  /**
   * While stopping with drain, the arbiter keeps passing until every mailbox, queue and
   * port is empty or the deadline passes; without drain it stops at once. Whatever is
   * left stays counted as queued in the final snapshots.
   */
  private finishedStopping(): boolean {
    const s = this.stopping!;
    if (s.drain && this.passNow < s.deadline) {
      if (this.anyMailboxReady()) return false;
      for (const link of this.links) {
        if (link !== undefined && (link.scheduler.backlog > 0 || link.inTransmit > 0)) return false;
      }
    }
    if (s.drain) {
      // Out of time: what clients published is admitted, and what is still queued is
      // dropped and counted as such, rather than left "queued" in a link that is going away.
      for (const link of this.links) {
        if (link === undefined) continue;
        while (this.drain(link) > 0);
        this.evictAll(link, CLASS_DROP_SHUTDOWN);
        for (let i = 0; i < link.txPending; i++) this.dropHeld(link, link.txBatch[i], CLASS_DROP_SHUTDOWN);
        link.txPending = 0;
      }
      this.publishReturns();
    }
    const snapshots = this.links.map((l) => (l === undefined ? null : l.snapshot(this.passNow)));
    for (const link of this.links) link?.port.close();
    this.reply({ seq: s.seq, ok: true, snapshots });
    return true;
  }
}
