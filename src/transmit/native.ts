/**
 * Loads the native addon (native/, built by `npm run build:native` during `npm ci`) and
 * turns its -errno results into errors that say what to do. The addon is optional: when
 * it is missing, the null and pcap backends still work and `nativeAddon()` says why the
 * native ones do not.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PspatError } from '../errors.js';

/** What both transmit ports are opened on: the pool's frames and table columns, and the port's own batch, completion, status and info arrays. */
export type PortBuffers = [
  umem: Uint8Array,
  frameSize: number,
  lens: Uint32Array,
  heads: Uint32Array,
  batch: Int32Array,
  done: Int32Array,
  status: Int32Array,
  info: Float64Array,
];

export interface NativeAddon {
  pageOffset(u8: Uint8Array): number;
  /** Makes `slots` (2 doubles over a SharedArrayBuffer) this thread's clock slots. */
  clockBind(slots: Float64Array): void;
  /** Writes CLOCK_MONOTONIC into the bound slots as [seconds, nanoseconds]; allocates nothing. */
  clockRead(): void;
  /** sched_yield(2): lets a thread waiting for the caller's CPU run first; returns at once when none is. */
  yieldCpu(): void;
  xdpOpen(...args: [...PortBuffers, ifindex: number, queue: number, mode: number, ringSize: number]): number;
  packetOpen(...args: [...PortBuffers, ifindex: number, ringFrames: number, qdiscBypass: boolean]): number;
  /** Frames accepted (a prefix of the batch). */
  submit(handle: number, count: number): number;
  reap(handle: number, max: number): number;
  /** Closes the port's socket; the next reaps return every frame it held with status `err`. */
  abort(handle: number, err: number): void;
  close(handle: number): void;
  /** The interface's flags (IFF_UP 0x1, IFF_RUNNING 0x40, ...) or -ENODEV. */
  linkFlags(ifindex: number): number;
  /** Raises the open-file soft limit to the hard limit; the new limit or -errno. */
  raiseFileLimit(): number;
  /** Keep the permitted capabilities when this thread stops being root; 0 or -errno. */
  keepCapabilitiesOnSetuid(): number;
  /** uid and gid of a user name or numeric uid from the system's user database (NSS) into `out`; 0, -ENOENT or -errno. */
  lookupUser(user: string, out: Int32Array): number;
  /** This thread's effective, permitted, inheritable and ambient capabilities := `mask`; 0 or -errno. */
  setCapabilities(mask: bigint): number;
  /** Pins thread `tid` (0: the caller) to `cpus` ([]: unchanged) and, priority > 0, SCHED_FIFO at it, else nice ≠ 0 sets its nice value; 0 or -errno. */
  placeThread(tid: number, cpus: Int32Array, priority: number, nice: number): number;
  /** The calling thread's kernel id. */
  threadId(): number;
  /** Sleeps while `words[index]` is `expected`, until woken or `timeoutMs` (at most 100 ms); 0, -EAGAIN, -ETIMEDOUT or -EINTR (src/shm/futex.ts). */
  futexWait(words: Int32Array, index: number, expected: number, timeoutMs: number): number;
  /** Wakes every thread sleeping on `words[index]`; how many woke, or -errno. */
  futexWake(words: Int32Array, index: number): number;
  /** How late the calling thread's timed waits may end (its timer slack, 50 µs by default), in ns; 0 or -errno. */
  setTimerSlack(ns: number): number;
  /** pid, uid, gid of a connected Unix socket's peer into `out`; 0 or -errno. */
  peerCredentials(fd: number, out: Int32Array): number;
  /**
   * A sink stamping test frames' arrival on `ifname` (inside the namespace at `netnsPath`,
   * '' for this one): the XDP program in `xdpObject` if it loads and attaches, else a
   * kernel-timestamping AF_PACKET socket; handle or -errno.
   */
  stampSinkOpen(netnsPath: string, ifname: string, epoch: bigint, xdpObject: string, stampOffset: number, tagOffset: number): number;
  /** Stamped test frames since the last read: class, sender's stamp, arrival (ns, shared clock); count or -errno. */
  stampSinkRead(handle: number, cls: Int32Array, sent: Float64Array, arrived: Float64Array): number;
  /** Frames that reached the sink, test frames or not. */
  stampSinkReceived(handle: number): number;
  /** Whether the sink is the XDP program. */
  stampSinkIsXdp(handle: number): boolean;
  stampSinkClose(handle: number): void;
  /** `size`-byte UDP datagrams to dst:port through the kernel's stack, flat out for `seconds` (blocks); datagrams sent or -errno. */
  udpFlood(dst: string, port: number, size: number, seconds: number): number;
  /** A capture socket on `ifname` inside the namespace at `netnsPath` ('' for this one), in fanout group `group` (0: none); handle or -errno. */
  captureOpen(netnsPath: string, ifname: string, group: number): number;
  /** Packets into the pool frames `frames[0..count)`, their full lengths into `lens[frame]`, waiting up to timeoutMs; count or -errno. */
  captureRead(handle: number, umem: Uint8Array, frameSize: number, frames: Int32Array, count: number, lens: Uint32Array, timeoutMs: number): number;
  /** Packets the kernel dropped for a full socket buffer since the last call. */
  captureDrops(handle: number): number;
  captureClose(handle: number): void;
  /**
   * Loads the capture program (native/bpf/capture.bpf.c) from `objPath` and attaches it to
   * `ifname` inside the namespace at `netnsPath`: `err` 0 and its socket map's descriptor,
   * or -errno with `step` saying what failed.
   */
  xskCaptureAttach(netnsPath: string, ifname: string, objPath: string): { err: number; mapFd: number; step: string };
  /** An AF_XDP capture socket on receive queue `queue` of `ifname`, put in the map `mapFd`, over the pool's frames; handle or -errno. */
  xskCaptureOpen(netnsPath: string, ifname: string, queue: number, mapFd: number, umem: Uint8Array, frameSize: number, ringSize: number): number;
  /** Empty frames `frames[0..count)` for the kernel to receive into; how many its fill ring took. */
  xskCaptureFill(handle: number, frames: Int32Array, count: number): number;
  /** Received frames into `frames`, each one's length into `lens[f]` and its packet's offset in the frame into `heads[f]`, waiting up to timeoutMs; count or -errno. */
  xskCaptureRead(handle: number, frames: Int32Array, lens: Uint32Array, heads: Uint32Array, timeoutMs: number): number;
  /** Packets the kernel dropped for want of a frame or of receive-ring room since the last call. */
  xskCaptureDrops(handle: number): number;
  xskCaptureClose(handle: number): void;
  /** `count` capture rings (BPF ring buffers) and their shared drop counters; close-on-exec descriptors, or err -errno. */
  captureRingsCreate(count: number): { err: number; rings: number[]; drops: number };
  /** A reader of ring `index` (its descriptors are duplicated); handle or -errno. */
  ringCaptureOpen(ringFd: number, dropsFd: number, index: number): number;
  /**
   * Copies up to `count` ringed frames into `frames[0..count)` of the pool (lens, heads set,
   * and divertedAt: when each was diverted, in ns of the shared clock of `epoch`), waiting up
   * to timeoutMs, also woken by the XDP capture `xskHandle` (-1: none); count or -errno.
   */
  ringCaptureRead(
    handle: number,
    frames: Int32Array,
    count: number,
    pool: Uint8Array,
    frameSize: number,
    lens: Uint32Array,
    heads: Uint32Array,
    divertedAt: Float64Array,
    epoch: bigint,
    xskHandle: number,
    timeoutMs: number,
  ): number;
  /** Frames the ring had no room for since the last call. */
  ringCaptureDrops(handle: number): number;
  ringCaptureClose(handle: number): void;
  /**
   * Loads the egress diversion program (native/bpf/divert.bpf.c) from `objPath`, puts a
   * socket of this process in its liveness map, pins its state map at `pinPath` and
   * attaches it to `ifindex`'s clsact egress hook at `priority`. `err` 0 and the state
   * map's and the liveness socket's descriptors, or -errno with `step` saying what failed.
   * With `ringFds` (the ring-capture build of the program) diverted frames go to those
   * rings, their drops counted in `ringDropsFd` (src/client/capture-source.ts).
   */
  divertAttach(
    objPath: string,
    pinPath: string,
    ifindex: number,
    captureIfindex: number,
    staleNs: number,
    checkNs: number,
    failClosed: boolean,
    priority: number,
    ringFds: Int32Array,
    ringDropsFd: number,
  ): { err: number; stateFd: number; aliveFd: number; step: string };
  /** Whether the kernel loads the programs of the BPF object at `objPath` (err 0), or -errno with the step that failed. */
  bpfProbe(objPath: string): { err: number; step: string };
  /** The diversion state behind a map descriptor, mapped into this thread (see src/attach/divert.ts); or -errno. */
  divertState(fd: number): ArrayBuffer | number;
  closeFd(fd: number): number;
  /** A NETLINK_ROUTE socket in the legacy multicast `groups` (0: requests only), receive buffer `rcvbuf` bytes; fd or -errno. */
  netlinkOpen(groups: number, rcvbuf: number): number;
  /** Sends one request to the kernel; bytes or -errno. */
  netlinkSend(fd: number, request: Uint8Array): number;
  /** One datagram into `buf`, waiting up to timeoutMs; bytes (0: none), or -errno (ENOBUFS: notifications lost). */
  netlinkRecv(fd: number, buf: Uint8Array, timeoutMs: number): number;
}

/** A native backend cannot be used; the message says why and what to do. */
export class BackendUnavailableError extends PspatError {
  constructor(message: string) {
    super('ERR_PSPAT_BACKEND', message);
  }
}

let cached: NativeAddon | Error | undefined;

function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}

/** A file the native build writes beside the addon (native/build/Release). */
export function nativeBuildFile(name: string): string {
  return join(projectRoot(), 'native', 'build', 'Release', name);
}

/** The addon, or null when it was not built or failed to load (`nativeAddon()` throws why). */
export function tryNativeAddon(): NativeAddon | null {
  if (cached === undefined) {
    const file = nativeBuildFile('pspat_native.node');
    try {
      // A copy: the addon's exports object, its functions set on it one by one, is in
      // V8's dictionary mode, and a call through it (the clock, each port's submit and
      // reap: several a pass) looked the function up in a hash table every time, where an
      // object literal's properties are loaded at a fixed offset.
      cached = { ...(createRequire(import.meta.url)(file) as NativeAddon) };
    } catch (e) {
      cached = new Error(
        existsSync(file)
          ? `native addon failed to load: ${(e as Error).message}`
          : 'native addon not built: install g++, make, python3, clang and libbpf-dev, then run `npm run build:native`',
      );
    }
  }
  return cached instanceof Error ? null : cached;
}

export function nativeAddon(): NativeAddon {
  const addon = tryNativeAddon();
  if (addon === null) throw new BackendUnavailableError((cached as Error).message);
  return addon;
}
