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
import type { ClassParams } from '../../schedulers/types.js';
import { ClientCounters, allocateClientCounters, CLIENT_STOP, type ClientChannel } from '../client.js';
import { newEpoch, type ClockEpoch } from '../clock.js';
import { InvalidOptionError, PspatError, RejectedChangeError, WorkerFailedError } from '../errors.js';
import {
  resolveArbiterOptions,
  resolveLinkOptions,
  type ArbiterOptions,
  type ClassSpec,
  type LinkOptions,
} from '../options.js';
import { FramePool, type FramePoolLayout } from '../shm/frame-pool.js';
import { SpscRing } from '../shm/spsc-ring.js';
import { Doorbell } from '../shm/doorbell.js';
import { allocateLinkStats } from '../stats/layout.js';
import { linkStatsFrom, type LinkStats } from '../stats/link-stats.js';
import { workerUrl } from '../worker-url.js';
import { tryNativeAddon } from '../transmit/native.js';
import { CTL_DOORBELL, CTL_PENDING, CTL_WORDS, type Command, type LinkSnapshot, type Reply } from './control.js';

export interface ConnectOptions {
  /** Frames this client owns (taken from the pool). @default 512 */
  frames?: number;
  /** Mailbox slots (power of two). @default 1024 */
  mailboxSize?: number;
}

function nextPow2(n: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(2, n)));
}

export class ArbiterHost {
  static async start(options: ArbiterOptions = {}): Promise<ArbiterHost> {
    const opts = resolveArbiterOptions(options);
    // Page-align the frame region when the addon can tell the address: it becomes the
    // AF_XDP UMEM of any afxdp link.
    const addon = tryNativeAddon();
    const pool = FramePool.allocate(opts.poolFrames, opts.frameSize, addon ? (u8) => addon.pageOffset(u8) : undefined);
    const control = new SharedArrayBuffer(CTL_WORDS * 4);
    const epoch = newEpoch();
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(workerUrl('./worker.js', import.meta.url), {
      workerData: { epoch, pool, control, options: opts, port: port2 },
      transferList: [port2],
    });
    const host = new ArbiterHost(worker, port1, pool, control, epoch);
    await new Promise<void>((resolve, reject) => {
      worker.once('online', resolve);
      worker.once('error', (e) => reject(new WorkerFailedError(`arbiter worker failed to start: ${e.message}`)));
    });
    return host;
  }

  readonly pool: FramePool;
  private readonly control: Int32Array;
  private readonly doorbell: Doorbell;
  private readonly pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  private seq = 0;
  private nextFreeFrame = 0;
  private nextClientId = 0;
  private readonly links: LinkHandle[] = [];
  private failure: Error | null = null;
  private closed = false;

  private constructor(
    private readonly worker: Worker,
    private readonly port: MessagePort,
    readonly poolLayout: FramePoolLayout,
    readonly controlBuffer: SharedArrayBuffer,
    readonly epoch: ClockEpoch,
  ) {
    this.pool = new FramePool(poolLayout);
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
    validateClasses(opts.scheduler, opts.maxClasses, opts.classes);
    const linkId = this.links.length;
    const stats = allocateLinkStats(opts.maxClasses);
    await this.request({ op: 'addLink', linkId, stats, options: opts });
    const link = new LinkHandle(this, linkId, opts, stats);
    this.links.push(link);
    return link;
  }

  /** Assigns `count` frames of the pool to a new client; throws when the pool is spent. */
  allocateClientFrames(count: number): { clientId: number; first: number } {
    if (!Number.isInteger(count) || count < 1) {
      throw new InvalidOptionError('frames', `must be an integer ≥ 1, got ${count}`);
    }
    if (this.nextFreeFrame + count > this.pool.frames) {
      throw new InvalidOptionError(
        'frames',
        `pool exhausted: ${count} frames asked, ${this.pool.frames - this.nextFreeFrame} of ${this.pool.frames} left (raise poolFrames)`,
      );
    }
    const first = this.nextFreeFrame;
    this.nextFreeFrame += count;
    return { clientId: this.nextClientId++, first };
  }

  /**
   * Stops the arbiter: with `drain`, it first sends what is queued (bounded by
   * `timeoutMs`); what is left stays counted as queued. Resolves with each link's final,
   * exact stats.
   */
  async close({ drain = true, timeoutMs = 5000 }: { drain?: boolean; timeoutMs?: number } = {}): Promise<LinkStats[]> {
    for (const l of this.links) l.stopClients();
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.closed = true;
    const reply = await this.request({ op: 'stop', drain, timeoutMs });
    await exited;
    this.port.close();
    const snaps = reply.snapshots ?? [];
    return this.links.map((l, i) => l.statsFrom(snaps[i]!));
  }

  /** Forcibly ends the worker (tests' cleanup after a failure). */
  async terminate(): Promise<void> {
    this.closed = true;
    this.port.close();
    await this.worker.terminate();
  }
}

/** Throws InvalidOptionError naming `classes[i].field` if a class would be refused. */
function validateClasses(kind: string, maxClasses: number, classes: ClassSpec[]): void {
  // A throw-away scheduler of the same kind checks every parameter exactly as the
  // arbiter's will, so a refusal happens here, before any state changes.
  const probe = findScheduler(kind).create({
    frames: { len: new Uint32Array(1), cls: new Int32Array(1) },
    poolFrames: 1,
    maxClasses,
  });
  classes.forEach((c, i) => {
    try {
      probe.addClass(c.slot!, c);
    } catch (e) {
      if (e instanceof InvalidOptionError) throw new InvalidOptionError(`classes[${i}].${e.field}`, e.message.slice(e.field.length + 2));
      throw e;
    }
  });
}

export class LinkHandle {
  private readonly clients: { channel: ClientChannel; counters: ClientCounters }[] = [];
  private readonly classSlots = new Set<number>();

  constructor(
    private readonly host: ArbiterHost,
    readonly id: number,
    readonly options: Required<LinkOptions>,
    readonly statsBuffer: SharedArrayBuffer,
  ) {
    for (const c of options.classes) this.classSlots.add(c.slot!);
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
    };
    await this.host.request({ op: 'attachClient', linkId: this.id, clientId, mailbox, free });
    this.clients.push({ channel, counters: new ClientCounters(counters, this.options.maxClasses) });
    return channel;
  }

  async addClass(spec: ClassSpec & { slot: number }): Promise<void> {
    if (this.classSlots.has(spec.slot)) throw new RejectedChangeError(`class slot ${spec.slot} already exists`);
    validateClasses(this.options.scheduler, this.options.maxClasses, [spec]);
    await this.host.request({ op: 'addClass', linkId: this.id, spec });
    this.classSlots.add(spec.slot);
  }

  async changeClass(slot: number, params: ClassParams): Promise<void> {
    if (!this.classSlots.has(slot)) throw new RejectedChangeError(`class slot ${slot} does not exist`);
    await this.host.request({ op: 'changeClass', linkId: this.id, slot, params });
  }

  async deleteClass(slot: number): Promise<void> {
    if (!this.classSlots.has(slot)) throw new RejectedChangeError(`class slot ${slot} does not exist`);
    await this.host.request({ op: 'deleteClass', linkId: this.id, slot });
    this.classSlots.delete(slot);
  }

  /** A consistent snapshot, taken by the arbiter between passes. */
  async stats(): Promise<LinkStats> {
    const reply = await this.host.request({ op: 'snapshot', linkId: this.id });
    return this.statsFrom(reply.snapshot!);
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
    return linkStatsFrom(snapshot, this.options, [...this.classSlots], this.clients.map((c) => c.counters));
  }
}
