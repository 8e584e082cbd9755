/**
 * The table of transmit backends: the arbiter opens a link's port by the link's
 * `backend` option.
 */
import { InvalidOptionError } from '../errors.js';
import type { LinkOptions } from '../options.js';
import type { FramePool } from '../shm/frame-pool.js';
import { NativePort } from './native-port.js';
import { NullPort } from './null-port.js';
import { PcapPort } from './pcap-port.js';
import { SpreadPort } from './spread-port.js';
import { TxWorkerPort } from './tx-worker-port.js';
import type { TxPort } from './port.js';
import type { ThreadPlacement } from '../placement.js';

/** Wall-clock time of shared-clock value t: `sec` seconds + (offsetNs + t) ns. */
export interface WallClock {
  sec: number;
  offsetNs: number;
}

export const BACKENDS = ['null', 'pcap', 'afxdp', 'afpacket'] as const;
export type Backend = (typeof BACKENDS)[number];
/** The backends the native addon provides: they need a device and may use transmit workers. */
export type NativeBackend = 'afxdp' | 'afpacket';

export function isNativeBackend(b: string): b is NativeBackend {
  return b === 'afxdp' || b === 'afpacket';
}

export function openPort(options: Required<LinkOptions>, pool: FramePool, capacity: number, wall: WallClock, txPlacement: ThreadPlacement): TxPort {
  switch (options.backend) {
    case 'null':
      return new NullPort(capacity);
    case 'pcap':
      try {
        return new PcapPort(options.out, pool, wall, capacity);
      } catch (e) {
        throw new InvalidOptionError('out', `cannot write pcap file '${options.out}': ${(e as Error).message}`);
      }
    case 'afxdp':
    case 'afpacket': {
      const o = { backend: options.backend, dev: options.dev, queue: options.queue, xdpMode: options.xdpMode };
      if (options.txWorkers === 0) return new NativePort(o, pool, capacity);
      // Worker i owns queue `queue + i` (AF_XDP binds one socket per queue). Each port is
      // opened once here so a bad device, queue, mode or privilege fails addLink with its
      // message; then the worker opens it for real (bind retries the brief EBUSY), and a
      // port that still cannot open there starts faulted and reopens later (native-port.ts).
      const workers = Array.from({ length: options.txWorkers }, (_, i) => ({ ...o, queue: o.queue + i }));
      for (const w of workers) new NativePort(w, pool, capacity).close();
      const ports = workers.map((w) => new TxWorkerPort(w, pool, capacity, txPlacement));
      return ports.length === 1 ? ports[0] : new SpreadPort(ports, capacity);
    }
  }
}
