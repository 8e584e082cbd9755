/**
 * A transmit port run by a transmit worker thread (`txWorkers ≥ 1`): the arbiter's side
 * pushes released frames into an SPSC ring to the worker and pops completions from a ring
 * back; the worker owns the real (native) port. Decoupling transmission this way lets the
 * kernel's send path run on another core than the arbiter.
 *
 * Completion ring entries are frame indices; a frame the port failed to send comes back
 * as `~frame` (negative), so no second ring is needed for statuses.
 */
import { Worker } from 'node:worker_threads';
import type { FramePool } from '../shm/frame-pool.js';
import { SpscRing } from '../shm/spsc-ring.js';
import { workerUrl } from '../worker-url.js';
import { countersOf, INFO_FAULT, INFO_FIELDS, type NativePortOptions } from './native-port.js';
import type { PortCounters, TxPort } from './port.js';
import type { ThreadPlacement } from '../placement.js';

/** What a transmit worker starts with. */
export interface TxWorkerStart {
  port: NativePortOptions;
  pool: FramePool['layout'];
  capacity: number;
  /** Frames to send (arbiter → worker). */
  tx: SharedArrayBuffer;
  /** Finished frames (worker → arbiter). */
  done: SharedArrayBuffer;
  /** Int32 word 0: set to 1 by the arbiter to stop the worker. */
  stop: SharedArrayBuffer;
  /** The worker's port's counters and fault (NativePort `info`), read here. */
  info: SharedArrayBuffer;
  /** Where the worker places itself. */
  placement: ThreadPlacement;
}

export class TxWorkerPort implements TxPort {
  readonly name: string;
  private readonly tx: SpscRing;
  private readonly done: SpscRing;
  private readonly stopWord: Int32Array;
  private readonly info: Float64Array<SharedArrayBuffer>;
  private submitted = 0;
  private completed = 0;

  constructor(o: NativePortOptions, pool: FramePool, capacity: number, placement: ThreadPlacement) {
    this.name = `${o.backend}/worker`;
    const size = 2 ** Math.ceil(Math.log2(Math.max(64, capacity * 8)));
    const start: TxWorkerStart = {
      port: o,
      pool: pool.layout,
      capacity,
      tx: SpscRing.allocate(size),
      done: SpscRing.allocate(size),
      stop: new SharedArrayBuffer(4),
      info: new SharedArrayBuffer(INFO_FIELDS * 8),
      placement,
    };
    this.tx = new SpscRing(start.tx);
    this.done = new SpscRing(start.done);
    this.stopWord = new Int32Array(start.stop);
    this.info = new Float64Array(start.info);
    // The worker exits by itself once `close` asks it to and its frames are done.
    new Worker(workerUrl('./tx-worker.js', import.meta.url), { workerData: start });
  }

  get inFlight(): number {
    return this.submitted - this.completed;
  }

  /** The worker's port's fault, as it last wrote it (plain stores: one pass late at worst). */
  get fault(): number {
    return this.info[INFO_FAULT];
  }

  counters(): PortCounters {
    return countersOf(this.info);
  }

  submit(batch: Int32Array, count: number): number {
    const n = this.tx.push(batch, 0, count);
    this.submitted += n;
    return n;
  }

  reap(done: Int32Array, status: Int32Array, max: number): number {
    const n = this.done.pop(done, 0, max);
    for (let i = 0; i < n; i++) {
      const f = done[i];
      if (f < 0) {
        done[i] = ~f;
        status[i] = this.info[INFO_FAULT] || -5; // the port's fault, else EIO
      } else {
        status[i] = 0;
      }
    }
    this.completed += n;
    return n;
  }

  close(): void {
    // Publishes the stop request; the worker finishes its in-flight frames, then exits.
    Atomics.store(this.stopWord, 0, 1);
    this.tx.doorbell.ring();
  }
}
