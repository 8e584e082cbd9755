/**
 * The null backend: every frame "completes" the moment it is submitted. It measures the
 * arbiter alone, and is what the demo and the scheduling tests run on.
 */
import { NO_PORT_COUNTERS, type PortCounters, type TxPort } from './port.js';

export class NullPort implements TxPort {
  readonly name = 'null';
  /** Never faults: there is no device. */
  readonly fault = 0;
  private readonly done: Int32Array;
  private head = 0;
  private tail = 0;

  /** @param capacity Most frames in flight between a submit and the next reap. */
  constructor(capacity: number) {
    this.done = new Int32Array(capacity);
  }

  get inFlight(): number {
    return this.tail - this.head;
  }

  submit(batch: Int32Array, count: number): number {
    const room = this.done.length - this.tail;
    const n = count < room ? count : room;
    for (let i = 0; i < n; i++) this.done[this.tail + i] = batch[i];
    this.tail += n;
    return n;
  }

  reap(done: Int32Array, status: Int32Array, max: number): number {
    const n = Math.min(max, this.tail - this.head);
    for (let i = 0; i < n; i++) {
      done[i] = this.done[this.head + i];
      status[i] = 0;
    }
    this.head += n;
    if (this.head === this.tail) this.head = this.tail = 0;
    return n;
  }

  counters(): PortCounters {
    return { ...NO_PORT_COUNTERS };
  }

  close(): void {}
}
