/**
 * Main-thread handle of an arbiter worker and the links it serves.
 *
 *   const arbiter = await ArbiterHost.start({ poolFrames: 8192 });
 *   const link = await arbiter.addLink({ rate: 1e9, scheduler: 'drr', classes: [...] });
 *   worker.postMessage(link.connectClient({ frames: 512 }));   // a ClientChannel
 *   const stats = await link.stats();                          // consistent snapshot
 *   const final = await arbiter.close({ drain: true });        // per link, exact
 *
 * The host owns set-up: it allocates every shared buffer, assigns frames to clients
 * (writing their owner column and pre-filling their free rings before the arbiter sees
 * them), validates options on this thread so a bad value throws here, with a message
 * naming the field, before anything reaches the arbiter.
 */
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { findScheduler } from '../../schedulers/registry.js';
import type { ClassParams, RootParams, Scheduler } from '../../schedulers/types.js';
import type { PoliceSpec } from '../tc/model.js';
import { ClientCounters, allocateClientCounters, CLIENT_OFFERED_PKTS, CLIENT_STOP, type ClientChannel } from '../client/channel.js';
import { newEpoch, type ClockEpoch } from '../clock.js';
import { InvalidOptionError, PspatError, RejectedChangeError, WorkerFailedError } from '../errors.js';
import { resolveArbiterOptions, resolveLinkOptions, type ArbiterOptions, type ClassSpec, type LinkOptions } from '../options.js';
import { FrameRanges } from '../shm/frame-ranges.js';
import { FramePool, type FramePoolLayout } from '../shm/frame-pool.js';
import { nextPow2, SpscRing } from '../shm/spsc-ring.js';
import { Doorbell } from '../shm/doorbell.js';
import {
  allocateLinkStats,
  classWord,
  CLASS_ARRIVED_BYTES,
  CLASS_ARRIVED_PKTS,
  CLASS_BACKLOG_BYTES,
  CLASS_BACKLOG_PKTS,
  CLASS_DROPPED_BYTES,
  CLASS_SENT_BYTES,
  CLASS_SENT_PKTS,
  DROP_REASONS,
  LINK_MTU_SUSPECT,
  LINK_PORT_FAULT,
} from '../stats/layout.js';
import { linkStatsFrom, type LinkStats } from '../stats/link-stats.js';
import { ClassHistograms } from '../stats/class-histograms.js';
import { allocateLoopStats, LoopStats } from '../stats/loop-stats.js';
import { workerUrl } from '../worker-url.js';
import { tryNativeAddon } from '../transmit/native.js';
import type { ThreadPlacement } from '../placement.js';
import { CTL_DOORBELL, CTL_PENDING, CTL_WORDS, type Command, type Reply } from './control.js';
import type { LinkSnapshot } from '../stats/link-snapshot.js';

export interface ConnectOptions {
  /** Frames this client owns (taken from the pool). @default 512 */
  frames?: number;
  /** Mailbox slots (power of two). @default 1024 */
  mailboxSize?: number;
}

export class ArbiterHost {
  static async start(options: ArbiterOptions = {}): Promise<ArbiterHost> {
    const opts = resolveArbiterOptions(options);
    // Page-align the frame region when the addon can tell the address: it becomes the
    // AF_XDP UMEM of any afxdp link.
    const addon = tryNativeAddon();
    const pool = FramePool.allocate(opts.poolFrames, opts.frameSize, addon ? (u8) => addon.pageOffset(u8) : undefined);
    const control = new SharedArrayBuffer(CTL_WORDS * 4);
    const loopStats = allocateLoopStats();
    const epoch = newEpoch();
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(workerUrl('./worker.js', import.meta.url), {
      workerData: { epoch, pool, control, options: opts, loopStats, port: port2 },
      transferList: [port2],
    });
    const host = new ArbiterHost(worker, port1, pool, control, epoch, new LoopStats(loopStats), opts.clientPlacement);
    // The worker says it is placed (or fails with why) before it runs its loop.
    await new Promise<void>((resolve, reject) => {
      worker.once('message', () => resolve());
      worker.once('error', (e) => reject(new WorkerFailedError(`arbiter worker failed to start: ${e.message}`)));
    });
    return host;
  }

  readonly pool: FramePool;
  private readonly control: Int32Array;
  private readonly doorbell: Doorbell;
  private readonly pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  private seq = 0;
  /** Frames no client owns (a removed link's clients' come back). */
  private readonly unowned: FrameRanges;
  private nextClientId = 0;
  private readonly links: LinkHandle[] = [];
  private failure: Error | null = null;
  private closed = false;
  private reportDeath: (e: Error) => void = () => {};
  /** Resolves with the error when the arbiter thread dies (crashed or exited) other than by close/terminate. */
  readonly died = new Promise<Error>((resolve) => (this.reportDeath = resolve));

  private constructor(
    private readonly worker: Worker,
    private readonly port: MessagePort,
    readonly poolLayout: FramePoolLayout,
    readonly controlBuffer: SharedArrayBuffer,
    readonly epoch: ClockEpoch,
    /** The arbiter loop's figures, read lock-free. */
    readonly loop: LoopStats,
    /** Where client threads of this arbiter's links run (carried in their channels). */
    readonly clientPlacement: ThreadPlacement,
  ) {
    this.pool = new FramePool(poolLayout);
    this.unowned = new FrameRanges(this.pool.frames);
    this.control = new Int32Array(controlBuffer);
    this.doorbell = new Doorbell(this.control, CTL_DOORBELL);
    const dispatch = (r: Reply) => {
      const p = this.pending.get(r.seq);
      this.pending.delete(r.seq);
      p?.resolve(r);
    };
    port.on('message', dispatch);
    const fail = (e: Error) => {
      this.failure = e;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
      if (!this.closed) this.reportDeath(e);
    };
    worker.on('error', (e) => fail(new WorkerFailedError(`arbiter worker died: ${e.message}`)));
    worker.on('exit', (code) => {
      // The exit event may overtake replies still queued on the port (the stop reply
      // among them): deliver those first, synchronously, then fail whatever is left.
      for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) dispatch(m.message as Reply);
      if (!this.closed || this.pending.size > 0) fail(new WorkerFailedError(`arbiter worker exited with code ${code}`));
    });
  }

  /** Sends one command and resolves with its reply; rejects with the arbiter's error. */
  request(cmd: Command): Promise<Reply & { ok: true }> {
    if (this.failure) return Promise.reject(this.failure);
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      this.pending.set(seq, {
        resolve: (r) => (r.ok ? resolve(r) : reject(new PspatError(r.error.code ?? 'ERR_PSPAT_ARBITER', r.error.message))),
        reject,
      });
      this.port.postMessage({ ...cmd, seq });
      // Publishes "commands waiting" after the post; the arbiter clears it before reading.
      Atomics.store(this.control, CTL_PENDING, 1);
      this.doorbell.ring();
    });
  }

  async addLink(options: LinkOptions = {}): Promise<LinkHandle> {
    const opts = resolveLinkOptions(options);
    const shadow = shadowScheduler(opts.scheduler, opts.maxClasses, opts.classes, opts.schedulerParams);
    const linkId = this.links.length;
    const stats = allocateLinkStats(opts.maxClasses);
    const histograms = ClassHistograms.allocate(opts.maxClasses, { sampleEvery: opts.stageSample });
    await this.request({ op: 'addLink', linkId, stats, histograms, options: opts });
    const link = new LinkHandle(this, linkId, opts, stats, new ClassHistograms(histograms), shadow);
    this.links.push(link);
    return link;
  }

  /** Assigns `count` frames of the pool to a new client; throws when the pool is spent. */
  allocateClientFrames(count: number): { clientId: number; first: number } {
    if (!Number.isInteger(count) || count < 1) {
      throw new InvalidOptionError('frames', `must be an integer ≥ 1, got ${count}`);
    }
    const first = this.unowned.take(count);
    if (first < 0) {
      const u = this.unowned;
      throw new InvalidOptionError(
        'frames',
        `pool exhausted: ${count} frames asked, ${u.free} of ${this.pool.frames} left (at most ${u.largest} together; raise poolFrames)`,
      );
    }
    return { clientId: this.nextClientId++, first };
  }

  /** Takes back a removed link's client's frames (the arbiter holds none of them any more). */
  releaseClientFrames(first: number, count: number): void {
    this.pool.owner.fill(-1, first, first + count);
    this.unowned.give(first, count);
  }

  /**
   * Stops the arbiter: with `drain`, it first sends what is queued (bounded by
   * `timeoutMs`), then admits what the mailboxes still hold and drops what is left,
   * counted as `shutdown`; without, what is queued stays counted as queued. Resolves with
   * each link's final, exact stats.
   */
  async close({ drain = true, timeoutMs = 5000 }: { drain?: boolean; timeoutMs?: number } = {}): Promise<LinkStats[]> {
    for (const l of this.links) l.stopClients();
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.closed = true;
    const reply = await this.request({ op: 'stop', drain, timeoutMs });
    await exited;
    this.port.close();
    const snaps = reply.snapshots ?? [];
    // A link removed earlier has no snapshot now: its final stats were taken at removal.
    return this.links.map((l, i) => (snaps[i] ? l.statsFrom(snaps[i]!) : l.finalStats!));
  }

  /** Holds the arbiter thread for `ms` (a fault drill: see the `stall` command). */
  async stall(ms: number): Promise<void> {
    if (!(ms >= 0 && ms <= 10_000)) throw new InvalidOptionError('ms', `must be in [0, 10000], got ${ms}`);
    await this.request({ op: 'stall', ms });
  }

  /** Forcibly ends the worker (tests' cleanup after a failure). */
  async terminate(): Promise<void> {
    this.closed = true;
    this.port.close();
    await this.worker.terminate();
  }
}

/**
 * A scheduler of the link's kind holding the same classes as the arbiter's, with no
 * packets: every class change is tried on it first, so a refusal throws here, with the
 * scheduler's own message, before anything reaches the arbiter. Throws InvalidOptionError
 * naming `classes[i].field` for a bad initial class.
 */
function shadowScheduler(kind: string, maxClasses: number, classes: ClassSpec[], params: RootParams = {}): Scheduler {
  const frames = { len: new Uint32Array(1), cls: new Int32Array(1), flow: new Uint32Array(1), queuedAt: new Float64Array(1), sub: new Int32Array(1) };
  const shadow = findScheduler(kind).create({ frames, clock: new Float64Array(1), poolFrames: 1, maxClasses, drop: discard }, params);
  classes.forEach((c, i) => {
    try {
      shadow.addClass(c.slot!, c);
    } catch (e) {
      if (e instanceof InvalidOptionError) throw new InvalidOptionError(`classes[${i}].${e.field}`, e.message.slice(e.field.length + 2));
      throw e;
    }
  });
  return shadow;
}

const discard = (): void => {};

export class LinkHandle {
  private readonly clients: { channel: ClientChannel; counters: ClientCounters; frames: [first: number, count: number] }[] = [];
  /** Each class's parameters as last accepted (to undo a change the arbiter refused). */
  private readonly classParams = new Map<number, ClassParams>();

  constructor(
    private readonly host: ArbiterHost,
    readonly id: number,
    /** Replaced by setScheduler. */
    public options: Required<LinkOptions>,
    readonly statsBuffer: SharedArrayBuffer,
    /** The arbiter's per-class delay histograms, for lock-free reads (`recordOf`, `recordViews`). */
    readonly histograms: ClassHistograms,
    private shadow: Scheduler,
  ) {
    for (const c of options.classes) this.classParams.set(c.slot!, c);
    this.live = new Float64Array(statsBuffer);
  }

  /** Creates a client's mailbox and free ring, gives it frames, and attaches it. */
  async connectClient(options: ConnectOptions = {}): Promise<ClientChannel> {
    const frames = options.frames ?? 512;
    const mailboxSize = options.mailboxSize ?? 1024;
    const mailbox = SpscRing.allocate(mailboxSize);
    const { clientId, first } = this.host.allocateClientFrames(frames);
    const free = SpscRing.allocate(nextPow2(frames));
    // Set-up writes, published to the client by postMessage and to the arbiter by the
    // attach command: owner column, and the free ring pre-filled with every frame.
    const pool = this.host.pool;
    const ring = new SpscRing(free);
    const ids = new Int32Array(frames);
    for (let i = 0; i < frames; i++) {
      pool.owner[first + i] = clientId;
      pool.head[first + i] = 0; // an earlier client's capture may have left one
      ids[i] = first + i;
    }
    ring.push(ids, 0, frames);
    const counters = allocateClientCounters(this.options.maxClasses);
    const channel: ClientChannel = {
      clientId,
      linkId: this.id,
      maxClasses: this.options.maxClasses,
      epoch: this.host.epoch,
      pool: this.host.poolLayout,
      mailbox,
      free,
      counters,
      arbiterControl: this.host.controlBuffer,
      doorbellWord: CTL_DOORBELL,
      placement: this.host.clientPlacement,
    };
    await this.host.request({ op: 'attachClient', linkId: this.id, clientId, mailbox, free, first, frames });
    this.clients.push({ channel, counters: new ClientCounters(counters, this.options.maxClasses), frames: [first, frames] });
    return channel;
  }

  async addClass(spec: ClassSpec & { slot: number }): Promise<void> {
    if (this.classParams.has(spec.slot)) throw new RejectedChangeError(`class slot ${spec.slot} already exists`);
    this.shadow.addClass(spec.slot, spec);
    await this.undoIfRefused({ op: 'addClass', linkId: this.id, spec }, () => this.shadow.deleteClass(spec.slot, discard));
    this.classParams.set(spec.slot, spec);
  }

  async changeClass(slot: number, params: ClassParams): Promise<void> {
    const old = this.classParams.get(slot);
    if (!old) throw new RejectedChangeError(`class slot ${slot} does not exist`);
    this.shadow.changeClass(slot, params);
    await this.undoIfRefused({ op: 'changeClass', linkId: this.id, slot, params }, () => this.shadow.changeClass(slot, old));
    this.classParams.set(slot, { ...old, ...params });
  }

  async deleteClass(slot: number): Promise<void> {
    const old = this.classParams.get(slot);
    if (!old) throw new RejectedChangeError(`class slot ${slot} does not exist`);
    this.shadow.deleteClass(slot, discard);
    await this.undoIfRefused({ op: 'deleteClass', linkId: this.id, slot }, () => this.shadow.addClass(slot, old));
    this.classParams.delete(slot);
  }

  /** Sends `cmd`; if the arbiter refuses it (state the shadow cannot see, such as a backlog), undoes the shadow's change. */
  private async undoIfRefused(cmd: Command, undo: () => void): Promise<void> {
    try {
      await this.host.request(cmd);
    } catch (e) {
      undo();
      throw e;
    }
  }

  /**
   * Swaps the link's scheduler (tc's `qdisc replace` with another kind): the new one with
   * its classes is checked first; what the old one held is dropped as 'class deleted'.
   */
  async setScheduler(kind: string, params: RootParams, classes: (ClassSpec & { slot: number })[]): Promise<void> {
    const shadow = shadowScheduler(kind, this.options.maxClasses, classes, params);
    await this.host.request({ op: 'setScheduler', linkId: this.id, scheduler: kind, params, classes });
    this.options = { ...this.options, scheduler: kind, schedulerParams: params, classes };
    this.shadow = shadow;
    this.classParams.clear();
    for (const c of classes) this.classParams.set(c.slot, c);
  }

  /** Sets the link's policers (tc police), indexed as the clients' classifiers name them. */
  async setPolicers(policers: PoliceSpec[]): Promise<void> {
    await this.host.request({ op: 'setPolicers', linkId: this.id, policers });
  }

  /**
   * The arbiter keeps the egress diversion heartbeat behind `fd` fresh while it runs
   * (src/attach/divert.ts); -1: no more. It maps the state for itself: `fd` may be closed after.
   */
  async heartbeat(fd: number): Promise<void> {
    await this.host.request({ op: 'heartbeat', linkId: this.id, fd });
  }

  /** Detaches every client (after their threads finished; see stopClients): the link may then be removed. */
  async detachClients(): Promise<void> {
    // Their counters stay: what they offered is part of the link's accounting.
    await this.host.request({ op: 'detachClients', linkId: this.id });
  }

  /** Ends the link (no client may be attached): queued packets are dropped, its port closed. Final stats. */
  async remove(): Promise<LinkStats> {
    const reply = await this.host.request({ op: 'removeLink', linkId: this.id });
    this.finalStats = this.statsFrom(reply.snapshot!);
    // Answered once nothing of the link is queued or in transmit: its clients' frames are free.
    for (const c of this.clients) this.host.releaseClientFrames(...c.frames);
    return this.finalStats;
  }

  /** Set once the link is removed: its exact, final accounting. */
  finalStats: LinkStats | null = null;

  /**
   * Bytes and packets class `slot` has sent so far, read lock-free from the stats memory
   * the arbiter writes (no request to the arbiter): a live read, which may see a pass
   * half-applied — right for rate estimates, not for accounting (use `stats`).
   */
  liveSent(slot: number): { bytes: number; packets: number } {
    return { bytes: this.live[classWord(slot, CLASS_SENT_BYTES)], packets: this.live[classWord(slot, CLASS_SENT_PKTS)] };
  }

  /** The stats words as the arbiter writes them (lock-free reads of single counters). */
  private readonly live: Float64Array;

  /** AF_PACKET: frames that may have been dropped unseen over a lowered MTU so far (read live, lock-free). */
  mtuSuspect(): number {
    return this.live[LINK_MTU_SUSPECT];
  }

  /** 0 while the link's port transmits, else the -errno that stops it (read live, lock-free). */
  portFault(): number {
    return this.live[LINK_PORT_FAULT];
  }

  /**
   * Counters and histograms read live from the shared memory the arbiter writes, plus the
   * scheduler's own per-class counters (one small request): costs the arbiter next to
   * nothing, where `stats` copies everything between passes. A pass may be half-applied,
   * and a class's backlog includes its frames in transmit — right for metrics, not for
   * accounting (use `stats`).
   */
  async liveStats(): Promise<LinkStats> {
    const { xstats } = await this.host.request({ op: 'xstats', linkId: this.id });
    const stats = this.live.slice();
    for (let c = 0; c < this.options.maxClasses; c++) {
      const w = (field: number) => stats[classWord(c, field)];
      const dropped = Object.values(DROP_REASONS).reduce((a, f) => a + w(f), 0);
      stats[classWord(c, CLASS_BACKLOG_PKTS)] = Math.max(0, w(CLASS_ARRIVED_PKTS) - w(CLASS_SENT_PKTS) - dropped);
      stats[classWord(c, CLASS_BACKLOG_BYTES)] = Math.max(0, w(CLASS_ARRIVED_BYTES) - w(CLASS_SENT_BYTES) - w(CLASS_DROPPED_BYTES));
    }
    const h = this.histograms;
    return this.statsFrom({ stats, stages: h.copy(), otherStages: h.copyOverflow(), mailboxFill: [], inFlight: 0, xstats: xstats ?? [], inner: [] });
  }

  /**
   * A consistent snapshot, taken by the arbiter between passes. Its delay histograms are
   * copied into shared memory on the arbiter's thread (a memory copy of 45 KB per class
   * with samples) and read from there here; a caller that needs only counters says
   * `{ histograms: false }`, and its classes' `stages` are empty. One snapshot with
   * histograms at a time per link: the next would overwrite the copy being read.
   */
  async stats({ histograms = true }: { histograms?: boolean } = {}): Promise<LinkStats> {
    if (!histograms) return this.statsFrom((await this.host.request({ op: 'snapshot', linkId: this.id, histograms })).snapshot!);
    const turn = this.copyTurn.then(async () => {
      const snapshot = (await this.host.request({ op: 'snapshot', linkId: this.id, histograms })).snapshot!;
      return this.statsFrom({ ...snapshot, ...this.histograms.fromCopies(snapshot.copiedRecords ?? 0) });
    });
    this.copyTurn = turn.catch(() => undefined);
    return turn;
  }

  /** The last snapshot with histograms asked for: the next waits for it (see `stats`). */
  private copyTurn: Promise<unknown> = Promise.resolve();

  /**
   * After client `channel`'s thread died (threw, exited, was terminated): what it had
   * published is admitted, every frame it owns that the arbiter does not hold goes back on
   * its free ring, and the channel is returned for a new thread to take its place (its
   * counters carry on). Resolves with the frames put back.
   *
   * A thread that died between publishing a batch and counting it left its offered count
   * short; the arbiter drained those entries all the same, so the last `drained − counted`
   * entries of its mailbox are exactly the uncounted ones, and are counted here (the dead
   * thread no longer writes its counters).
   */
  async reclaimClient(channel: ClientChannel): Promise<number> {
    const reply = await this.host.request({ op: 'reclaimClient', linkId: this.id, clientId: channel.clientId });
    const { counters } = this.clients.find((c) => c.channel === channel)!;
    const mailbox = new SpscRing(channel.mailbox);
    const end = mailbox.prodIndex();
    const uncounted = reply.drained! - counters.totals[CLIENT_OFFERED_PKTS];
    for (let i = end - uncounted; i < end; i++) {
      const f = mailbox.slots[i & mailbox.mask];
      counters.countOffered(this.host.pool.cls[f], this.host.pool.len[f]);
    }
    return reply.reclaimed ?? 0;
  }

  /** Frames sitting in this link's clients' free rings (a leak check once everything stopped). */
  freeFrames(): number {
    return this.clients.reduce((a, c) => a + new SpscRing(c.channel.free).fill(), 0);
  }

  /** Asks every client of this link to finish its loop (clients poll `stopRequested`). */
  stopClients(): void {
    for (const c of this.clients) {
      // Publishes the stop request to the client.
      Atomics.store(c.counters.control, CLIENT_STOP, 1);
      // A client parked waiting for frames wakes on its free ring's doorbell.
      new SpscRing(c.channel.free).doorbell.ring();
    }
  }

  statsFrom(snapshot: LinkSnapshot): LinkStats {
    return linkStatsFrom(
      snapshot,
      this.options,
      [...this.classParams.keys()],
      this.clients.map((c) => c.counters),
    );
  }
}
