/**
 * AF_XDP and AF_PACKET transmit ports: the TxPort face of the native addon. The arbiter
 * calls submit/reap inline (txWorkers 0); the addon reads frame lengths straight from the
 * frame table and frame bytes straight from the pool (the AF_XDP UMEM), so the hot calls
 * pass only integers.
 */
import { readFileSync } from 'node:fs';
import { InvalidOptionError } from '../errors.js';
import type { FramePool } from '../shm/frame-pool.js';
import { BackendUnavailableError, errnoName, nativeAddon, type NativeAddon } from './native.js';
import type { TxPort } from './port.js';
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
  return new BackendUnavailableError(`${where}: cannot open the port (${name})`);
}

export class NativePort implements TxPort {
  readonly name: string;
  private readonly addon: NativeAddon;
  private readonly handle: number;
  private readonly batch: Int32Array;
  private readonly done: Int32Array;
  private readonly status: Int32Array;

  constructor(o: NativePortOptions, pool: FramePool, capacity: number) {
    this.addon = nativeAddon();
    this.name = o.backend;
    const ifindex = interfaceIndex(o.dev);
    this.batch = new Int32Array(capacity);
    this.done = new Int32Array(capacity);
    this.status = new Int32Array(capacity);
    const umem = new Uint8Array(pool.layout.umem, pool.layout.umemOffset, pool.frames * pool.frameSize);
    const ringSize = 2 ** Math.ceil(Math.log2(Math.max(64, capacity * 4)));
    const r = o.backend === 'afxdp'
      ? this.addon.xdpOpen(umem, pool.frameSize, pool.len, this.batch, this.done, this.status, ifindex, o.queue, XDP_MODES[o.xdpMode], ringSize)
      : this.addon.packetOpen(umem, pool.frameSize, pool.len, this.batch, this.done, this.status, ifindex, ringSize, o.qdiscBypass ?? true);
    if (r < 0) throw openError(o, r);
    this.handle = r;
  }

  get inFlight(): number {
    return this.addon.inFlight(this.handle);
  }

  submit(batch: Int32Array, count: number): number {
    const n = Math.min(count, this.batch.length);
    for (let i = 0; i < n; i++) this.batch[i] = batch[i];
    const r = this.addon.submit(this.handle, n);
    // A hard error (-errno): nothing was accepted; the arbiter counts the batch as failed.
    return r < 0 ? 0 : r;
  }

  reap(done: Int32Array, status: Int32Array, max: number): number {
    const n = this.addon.reap(this.handle, Math.min(max, this.done.length));
    if (n <= 0) return 0;
    for (let i = 0; i < n; i++) {
      done[i] = this.done[i];
      status[i] = this.status[i];
    }
    return n;
  }

  close(): void {
    this.addon.close(this.handle);
  }
}
