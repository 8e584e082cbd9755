/**
 * The transmit worker's loop (src/transmit/tx-loop.ts) gives back every frame it was
 * handed, exactly once, even when the arbiter drains the done ring late and far more
 * frames are out than that ring holds (the egress benchmark's Mpps phase with a transmit
 * worker lost completions so, and the link's removal then waited for them forever).
 * One thread plays both sides: a fake port stands in for the kernel and, from inside
 * its calls, for the arbiter, which keeps the tx ring full and drains the done ring
 * only now and then.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SpscRing } from '../src/shm/spsc-ring.js';
import { newTxLoopState, runTransmitLoop } from '../src/transmit/tx-loop.js';
import { NO_PORT_COUNTERS, type TxPort } from '../src/transmit/port.js';

const ENOBUFS = -105;

/** A port that completes what it took on the next reap (frame f fails when `fails(f)`) and plays a late arbiter. */
class LateArbiterPort implements TxPort {
  readonly name = 'fake';
  readonly fault = 0;
  private held: number[] = [];
  private next = 0;
  private calls = 0;
  readonly returned: number[] = [];
  readonly failed: number[] = [];

  constructor(
    private readonly tx: SpscRing,
    private readonly done: SpscRing,
    private readonly total: number,
    /** The arbiter drains the done ring once every this many port calls. */
    private readonly drainEvery: number,
    /** Most frames the port takes per submit (its ring's room). */
    private readonly portRoom: number,
    private readonly fails: (f: number) => boolean,
  ) {
    this.produce();
  }

  /** The loop asks this on every idle turn, so the late arbiter gets its turns there too. */
  get inFlight(): number {
    this.arbiter();
    return this.held.length;
  }

  /** The arbiter's side: release frames into the tx ring, now and then take completions. */
  private arbiter(): void {
    if (++this.calls % this.drainEvery === 0) this.drain();
    this.produce();
  }

  private produce(): void {
    const room = this.tx.reserve(this.total - this.next);
    for (let i = 0; i < room; i++) this.tx.slots[(this.tx.prodIndex() + i) & this.tx.mask] = this.next++;
    if (room > 0) this.tx.submit(room);
  }

  drain(): void {
    const out = new Int32Array(this.done.size);
    const n = this.done.pop(out, 0, out.length);
    for (let i = 0; i < n; i++) (out[i] < 0 ? this.failed : this.returned).push(out[i] < 0 ? ~out[i] : out[i]);
  }

  submit(batch: Int32Array, count: number): number {
    this.arbiter();
    const n = Math.min(count, this.portRoom);
    for (let i = 0; i < n; i++) this.held.push(batch[i]);
    return n;
  }

  reap(out: Int32Array, status: Int32Array, max: number): number {
    this.arbiter();
    const n = Math.min(max, this.held.length);
    for (let i = 0; i < n; i++) {
      out[i] = this.held[i];
      status[i] = this.fails(out[i]) ? ENOBUFS : 0;
    }
    this.held = this.held.slice(n);
    return n;
  }

  counters() {
    return NO_PORT_COUNTERS;
  }
  close(): void {}
}

function run(total: number, ringSize: number, capacity: number, drainEvery: number, portRoom: number, fails: (f: number) => boolean) {
  const tx = new SpscRing(SpscRing.allocate(ringSize));
  const done = new SpscRing(SpscRing.allocate(ringSize));
  const port = new LateArbiterPort(new SpscRing(tx.buffer), new SpscRing(done.buffer), total, drainEvery, portRoom, fails);
  const stop = new Int32Array([1]); // stop once everything is done
  runTransmitLoop(port, tx, done, stop, newTxLoopState(capacity));
  port.drain();
  return port;
}

describe('the transmit loop', () => {
  it('returns every frame once when 20 ring-fuls pass through a done ring drained late', () => {
    const total = 64 * 20;
    const port = run(total, 64, 32, 25, 48, (f) => f % 7 === 0);
    const all = [...port.returned, ...port.failed].sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: total }, (_, i) => i));
    expect(port.failed).toEqual(all.filter((f) => f % 7 === 0));
  });

  it('accounts for every frame whatever the ring sizes, port room and arbiter lateness', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2000 }),
        fc.constantFrom(16, 64, 256),
        fc.integer({ min: 1, max: 64 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 300 }),
        (total, ringSize, capacity, drainEvery, portRoom) => {
          const port = run(total, ringSize, capacity, drainEvery, portRoom, () => false);
          expect(port.returned.length).toBe(total);
          expect(new Set(port.returned).size).toBe(total);
        },
      ),
      { numRuns: 100 },
    );
  });
});
