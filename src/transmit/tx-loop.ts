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

/**
 * Frames the loop popped from the tx ring and the port has not accepted yet: kept by the
 * caller, so that a loop that died of an exception leaves them to the one that follows.
 */
export interface TxLoopState {
  readonly batch: Int32Array;
  pending: number;
}

export function newTxLoopState(capacity: number): TxLoopState {
  return { batch: new Int32Array(capacity), pending: 0 };
}

export function runTransmitLoop(port: TxPort, tx: SpscRing, done: SpscRing, stop: Int32Array, state: TxLoopState): void {
  const { batch } = state;
  const capacity = batch.length;
  const reaped = new Int32Array(capacity);
  const status = new Int32Array(capacity);
  let idle = 0;
  for (;;) {
    let work = 0;
    if (state.pending === 0) state.pending = tx.pop(batch, 0, capacity);
    const pending = state.pending;
    if (pending > 0) {
      const n = port.submit(batch, pending);
      if (n === 0 && port.inFlight === 0) {
        // Refused with nothing in flight: a hard error, not a full ring. Fail the batch.
        for (let i = 0; i < pending; i++) batch[i] = ~batch[i];
        // Every frame goes back, however late the arbiter drains the done ring.
        for (let sent = 0; sent < pending; ) sent += done.push(batch, sent, pending - sent);
        work += pending;
        state.pending = 0;
      } else if (n > 0) {
        batch.copyWithin(0, n, pending);
        state.pending = pending - n;
        work += n;
      }
    }
    // Only what the done ring has room for: the arbiter may fall behind (descheduled) while
    // more frames are out than the ring holds — the tx ring's, the batch's and the port's
    // — and a completion that did not fit would be lost, and with it the frame (and the
    // link's removal, which waits for every frame in transmit). The rest waits in the port.
    const room = done.reserve(capacity);
    const r = room > 0 ? port.reap(reaped, status, room) : 0;
    for (let i = 0; i < r; i++) if (status[i] !== 0) reaped[i] = ~reaped[i];
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
