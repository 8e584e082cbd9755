/**
 * AF_XDP and AF_PACKET transmit ports: the TxPort face of the native addon. The arbiter
 * calls submit/reap inline (txWorkers 0); the addon reads frame lengths straight from the
 * frame table and frame bytes straight from the pool (the AF_XDP UMEM), so the hot calls
 * pass only integers, and writes its counters straight into `info`.
 *
 * Faults and recovery (all inside `reap`, which the arbiter calls every pass):
 * - a kick that fails hard (ENETDOWN: the device is down, or, in AF_XDP copy mode, it
 *   dropped a frame for want of carrier; ENXIO: it was deleted) faults the port: the
 *   socket is closed and every frame it held and did not send comes back failed;
 * - transient refusals (ENOBUFS, EAGAIN, EBUSY) leave the frames waiting and are retried
 *   on the next reap, but only for STALL_MS: a port that holds frames and completes none
 *   for that long faults with ETIMEDOUT — retries are bounded; while it waits it looks at
 *   its device every RETRY_MS, and one that is no longer running (its carrier lost:
 *   AF_PACKET then says only ENOBUFS) faults with ENETDOWN at once;
 * - a faulted port looks at its device every RETRY_MS: once it is up and running again
 *   the port reopens and transmits; if the interface index is gone, the fault becomes
 *   -ENODEV for good (the daemon then stops with a message).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { InvalidOptionError } from '../errors.js';
import type { FramePool } from '../shm/frame-pool.js';
import { BackendUnavailableError, nativeAddon, type NativeAddon, type PortBuffers } from './native.js';
import { ENETDOWN, ENODEV, errnoName, ETIMEDOUT } from '../errno.js';
import type { PortCounters, TxPort } from './port.js';
import type { NativeBackend } from './ports.js';

export type XdpMode = 'copy' | 'zerocopy' | 'auto';
/** The addon's numbers for each AF_XDP bind mode (af_xdp.cc, openXdpPort). */
const XDP_MODES: Record<XdpMode, number> = { copy: 0, zerocopy: 1, auto: 2 };

export function isXdpMode(m: string): m is XdpMode {
  return Object.hasOwn(XDP_MODES, m);
}

export interface NativePortOptions {
  backend: NativeBackend;
  dev: string;
  queue: number;
  xdpMode: XdpMode;
  /** afpacket: skip the device's qdisc (pspat schedules already). @default true */
  qdiscBypass?: boolean;
}

/** The kernel's index of interface `dev` in this network namespace. */
export function interfaceIndex(dev: string): number {
  if (!/^[^\s/]{1,15}$/.test(dev) || dev === '.' || dev === '..') {
    throw new InvalidOptionError('dev', `'${dev}' is not an interface name`);
  }
  try {
    return Number(readFileSync(`/sys/class/net/${dev}/ifindex`, 'utf8'));
  } catch {
    throw new InvalidOptionError('dev', `interface '${dev}' does not exist`);
  }
}

function openError(o: NativePortOptions, err: number): Error {
  const name = errnoName(err);
  const where = `${o.backend} on ${o.dev}`;
  if (name === 'EPERM' || name === 'EACCES') {
    return new BackendUnavailableError(`${where}: permission denied (${name}): needs CAP_NET_RAW and CAP_NET_ADMIN; run as root`);
  }
  if (o.backend === 'afxdp' && (name === 'EAFNOSUPPORT' || name === 'ENOPROTOOPT')) {
    return new BackendUnavailableError(`${where}: AF_XDP is not available in this kernel (${name}); use --backend afpacket`);
  }
  if (o.backend === 'afxdp' && o.xdpMode === 'zerocopy' && (name === 'EOPNOTSUPP' || name === 'EINVAL')) {
    return new BackendUnavailableError(`${where}: the driver cannot do zero-copy (${name}); use --xdp-mode auto or copy`);
  }
  if (o.backend === 'afxdp' && name === 'EINVAL') {
    // AF_XDP binds a socket to one transmit queue, and one socket per queue: a queue the
    // device lacks is the usual reason (--tx-workers N binds queues queue … queue + N − 1).
    const queues = transmitQueues(o.dev);
    if (queues !== null && o.queue >= queues) {
      return new BackendUnavailableError(
        `${where}: queue ${o.queue} does not exist (${o.dev} has ${queues} transmit queue${queues === 1 ? '' : 's'}; each transmit worker binds one: give fewer --tx-workers, a lower --queue, or add queues with ethtool -L)`,
      );
    }
  }
  return new BackendUnavailableError(`${where}: cannot open the port (${name})`);
}

/** How many transmit queues device `dev` has (its sysfs queue directories), null when they cannot be read. */
function transmitQueues(dev: string): number | null {
  try {
    return readdirSync(`/sys/class/net/${dev}/queues`).filter((q) => q.startsWith('tx-')).length;
  } catch {
    return null;
  }
}

// The port's `info` words: the addon writes the first five (port.h, PortInfo), this class the rest.
const INFO_KICKS = 0;
const INFO_RETRIES = 1;
const INFO_RING_FULL = 2;
const INFO_KICK_FAULT = 3;
const INFO_IN_FLIGHT = 4;
/** 0, or the -errno that faulted the port (until it recovers). */
export const INFO_FAULT = 5;
export const INFO_FAULTS = 6;
export const INFO_FIELDS = 7;

/** The counters in a native port's `info` words. */
export function countersOf(info: Float64Array<ArrayBufferLike>): PortCounters {
  return { kicks: info[INFO_KICKS], retries: info[INFO_RETRIES], ringFull: info[INFO_RING_FULL], faults: info[INFO_FAULTS] };
}

const IFF_UP = 0x1;
const IFF_RUNNING = 0x40;
/** How often a faulted port looks at its device. */
const RETRY_MS = 100;
/** How long a port may hold frames without completing any before it gives up on them. */
export const STALL_MS = 2000;
/** Empty reaps between two looks at the clock while frames are held (keeps `now` off the hot path). */
const STALL_CHECK_EVERY = 1024;

export class NativePort implements TxPort {
  readonly name: string;
  private readonly addon: NativeAddon;
  private readonly ifindex: number;
  /** The native port, or −1 while faulted and closed. */
  private handle: number;
  private readonly batch: Int32Array;
  private readonly done: Int32Array;
  private readonly status: Int32Array;
  private readonly open: () => number;
  private emptyReaps = 0;
  private stallSince = 0;
  private nextLook = 0;

  /**
   * @param info INFO_FIELDS words for the port's counters and state; a transmit worker
   * passes shared memory so the arbiter reads them too.
   * @param onOpenError what a first open that fails does: `throw` its error (addLink's
   * check of the device), or `fault`: the port starts faulted with the errno and reopens
   * as after any fault. A transmit worker opens so: an error thrown there is heard by
   * nobody (the arbiter's event loop never turns), and its link would release into a
   * ring no one reads, its frames in transmit for ever.
   */
  constructor(
    o: NativePortOptions,
    pool: FramePool,
    capacity: number,
    readonly info: Float64Array<ArrayBufferLike> = new Float64Array(INFO_FIELDS),
    onOpenError: 'throw' | 'fault' = 'throw',
  ) {
    this.addon = nativeAddon();
    this.name = o.backend;
    let ifindex = 0;
    try {
      ifindex = interfaceIndex(o.dev);
    } catch (e) {
      // Vanished since addLink checked it: index 0 fails to open, then faults for good (recover).
      if (onOpenError === 'throw') throw e;
    }
    this.ifindex = ifindex;
    this.batch = new Int32Array(capacity);
    this.done = new Int32Array(capacity);
    this.status = new Int32Array(capacity);
    const ringSize = 2 ** Math.ceil(Math.log2(Math.max(64, capacity * 4)));
    const arrays: PortBuffers = [pool.frameRegion(), pool.frameSize, pool.len, pool.head, this.batch, this.done, this.status, info];
    this.open =
      o.backend === 'afxdp'
        ? () => this.addon.xdpOpen(...arrays, this.ifindex, o.queue, XDP_MODES[o.xdpMode], ringSize)
        : () => this.addon.packetOpen(...arrays, this.ifindex, ringSize, o.qdiscBypass ?? true);
    const r = this.open();
    if (r >= 0) {
      this.handle = r;
    } else if (onOpenError === 'throw') {
      throw openError(o, r);
    } else {
      this.handle = -1;
      this.faultWith(this.ifindex === 0 ? ENODEV : r);
    }
  }

  get inFlight(): number {
    return this.handle < 0 ? 0 : this.info[INFO_IN_FLIGHT];
  }

  get fault(): number {
    return this.info[INFO_FAULT];
  }

  counters(): PortCounters {
    return countersOf(this.info);
  }

  submit(batch: Int32Array, count: number): number {
    if (this.info[INFO_FAULT] !== 0) return 0;
    const n = Math.min(count, this.batch.length);
    for (let i = 0; i < n; i++) this.batch[i] = batch[i];
    return this.addon.submit(this.handle, n);
  }

  reap(done: Int32Array, status: Int32Array, max: number): number {
    if (this.handle < 0) {
      this.recover();
      return 0;
    }
    const n = this.addon.reap(this.handle, Math.min(max, this.done.length));
    for (let i = 0; i < n; i++) {
      done[i] = this.done[i];
      status[i] = this.status[i];
    }
    if (this.info[INFO_FAULT] !== 0) {
      // Faulted: the failed frames come back over the next reaps; then the socket goes.
      if (n === 0 && this.info[INFO_IN_FLIGHT] === 0) this.close();
    } else if (this.info[INFO_KICK_FAULT] !== 0) {
      this.faultWith(this.info[INFO_KICK_FAULT]);
    } else if (n > 0 || this.info[INFO_IN_FLIGHT] === 0) {
      this.resetStall();
    } else if (++this.emptyReaps % STALL_CHECK_EVERY === 0) {
      this.checkStall(performance.now());
    }
    return n;
  }

  /** Frames held, none completing: past STALL_MS a fault; sooner, if the device stopped running. */
  private checkStall(now: number): void {
    if (this.stallSince === 0) this.stallSince = now;
    if (now - this.stallSince > STALL_MS) {
      this.faultWith(ETIMEDOUT);
    } else if (now >= this.nextLook) {
      this.nextLook = now + RETRY_MS;
      if (this.device() === 'stopped') this.faultWith(ENETDOWN);
    }
  }

  /** The device's state: gone (no such index), stopped (not up, or no carrier), or running. */
  private device(): 'gone' | 'stopped' | 'running' {
    const flags = this.addon.linkFlags(this.ifindex);
    if (flags < 0) return 'gone';
    return (flags & (IFF_UP | IFF_RUNNING)) === (IFF_UP | IFF_RUNNING) ? 'running' : 'stopped';
  }

  close(): void {
    if (this.handle >= 0) this.addon.close(this.handle);
    this.handle = -1;
  }

  /**
   * Faults the port with `err`: what it holds comes back failed over the next reaps (a port
   * that never opened holds nothing). Also for an owner giving up on it (tx-worker.ts).
   */
  faultWith(err: number): void {
    this.info[INFO_FAULT] = err;
    this.info[INFO_FAULTS]++;
    if (this.handle >= 0) this.addon.abort(this.handle, err);
    this.nextLook = performance.now() + RETRY_MS;
  }

  /** Progress, or nothing held: no stall is building up. */
  private resetStall(): void {
    this.emptyReaps = 0;
    this.stallSince = 0;
  }

  /** Reopens the port once its device is up and running again; a vanished device stays faulted (-ENODEV). */
  private recover(): void {
    if (this.info[INFO_FAULT] === ENODEV) return;
    const now = performance.now();
    if (now < this.nextLook) return;
    this.nextLook = now + RETRY_MS;
    const state = this.device();
    if (state === 'gone') this.info[INFO_FAULT] = ENODEV;
    if (state !== 'running') return;
    this.info[INFO_KICK_FAULT] = 0;
    const r = this.open();
    if (r < 0) return; // not yet: try again later
    this.handle = r;
    this.resetStall();
    this.info[INFO_FAULT] = 0;
  }
}
