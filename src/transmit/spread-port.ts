/**
 * Several transmit workers behind one TxPort: each released batch goes to the next worker
 * in turn (what one refuses is offered to the others), and completions are gathered from
 * all. Workers send in parallel, so packets of different batches may leave in a different
 * order than released, as with any multi-queue NIC.
 */
import type { PortCounters, TxPort } from './port.js';

export class SpreadPort implements TxPort {
  readonly name: string;
  private next = 0;
  private readonly scratch: Int32Array;
  private readonly scratchStatus: Int32Array;

  constructor(
    private readonly ports: TxPort[],
    capacity: number,
  ) {
    this.name = `${ports[0].name}×${ports.length}`;
    this.scratch = new Int32Array(capacity);
    this.scratchStatus = new Int32Array(capacity);
  }

  get inFlight(): number {
    let n = 0;
    for (const p of this.ports) n += p.inFlight;
    return n;
  }

  /** The first fault among the workers' ports (they share the device, so they fault together). */
  get fault(): number {
    for (const p of this.ports) if (p.fault !== 0) return p.fault;
    return 0;
  }

  counters(): PortCounters {
    const sum = { kicks: 0, retries: 0, ringFull: 0, faults: 0 };
    for (const p of this.ports) {
      const c = p.counters();
      sum.kicks += c.kicks;
      sum.retries += c.retries;
      sum.ringFull += c.ringFull;
      sum.faults += c.faults;
    }
    return sum;
  }

  submit(batch: Int32Array, count: number): number {
    let accepted = 0;
    for (let tries = 0; tries < this.ports.length && accepted < count; tries++) {
      const port = this.ports[this.next];
      this.next = (this.next + 1) % this.ports.length;
      if (accepted === 0) {
        accepted = port.submit(batch, count);
        continue;
      }
      const rest = count - accepted;
      for (let i = 0; i < rest; i++) this.scratch[i] = batch[accepted + i];
      accepted += port.submit(this.scratch, rest);
    }
    // Later ports took copies of batch[accepted..]: what was taken is still a prefix.
    return accepted;
  }

  reap(done: Int32Array, status: Int32Array, max: number): number {
    let n = 0;
    for (const port of this.ports) {
      if (n >= max) break;
      const r = port.reap(this.scratch, this.scratchStatus, Math.min(max - n, this.scratch.length));
      for (let i = 0; i < r; i++) {
        done[n + i] = this.scratch[i];
        status[n + i] = this.scratchStatus[i];
      }
      n += r;
    }
    return n;
  }

  close(): void {
    for (const p of this.ports) p.close();
  }
}
