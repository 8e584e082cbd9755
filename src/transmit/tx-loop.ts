/**
 * The transmit worker's loop: frames from the arbiter's ring go to the port; the port's
 * completions go back on the done ring (`~frame` for a frame the port refused). Spins
 * while the kernel holds frames (their completions are due), parks on the tx ring's
 * doorbell when there is nothing to do, and returns once asked to stop with nothing left.
 */
import type { SpscRing } from '../shm/spsc-ring.js';
import type { TxPort } from './port.js';

const SPIN_PASSES = 200;
const PARK_MS = 10;

export function runTransmitLoop(port: TxPort, tx: SpscRing, done: SpscRing, stop: Int32Array, capacity: number): void {
  const batch = new Int32Array(capacity);
  const reaped = new Int32Array(capacity);
  const status = new Int32Array(capacity);
  let pending = 0; // frames popped from tx but not yet accepted by the port
  let idle = 0;
  for (;;) {
    let work = 0;
    if (pending === 0) pending = tx.pop(batch, 0, capacity);
    if (pending > 0) {
      const n = port.submit(batch, pending);
      if (n === 0 && port.inFlight === 0) {
        // Refused with nothing in flight: a hard error, not a full ring. Fail the batch.
        for (let i = 0; i < pending; i++) batch[i] = ~batch[i];
        while (done.push(batch, 0, pending) === 0) {
          /* the arbiter drains done every pass */
        }
        work += pending;
        pending = 0;
      } else if (n > 0) {
        batch.copyWithin(0, n, pending);
        pending -= n;
        work += n;
      }
    }
    const r = port.reap(reaped, status, capacity);
    for (let i = 0; i < r; i++) if (status[i] !== 0) reaped[i] = ~reaped[i];
    // The done ring is as large as the tx ring, so it holds every frame in flight.
    if (r > 0) done.push(reaped, 0, r);
    work += r;
    if (work > 0) {
      idle = 0;
      continue;
    }
    if (port.inFlight > 0) continue; // completions are due
    // Acquires the arbiter's stop request.
    if (Atomics.load(stop, 0) !== 0 && tx.peek(1) === 0) return;
    if (++idle < SPIN_PASSES) continue;
    idle = 0;
    const token = tx.doorbell.arm();
    if (tx.peek(1) > 0 || Atomics.load(stop, 0) !== 0) tx.doorbell.disarm();
    else tx.doorbell.park(token, PARK_MS);
  }
}
