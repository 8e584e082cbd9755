/**
 * Paces a sender to a set packet rate (the load points of a latency run): a token bucket
 * on the shared clock. `due` says how many packets may go now; a sender that fell far
 * behind (descheduled, or slower than the rate) forgives the debt beyond MAX_DEBT_NS
 * rather than catching up in one burst, so the offered rate is at most the target and
 * bursts stay short. Idle waits sleep (a futex, src/shm/futex.ts), never spin: two cores.
 */
import { futex } from '../src/shm/futex.js';

const MAX_DEBT_NS = 200_000;

export class SendPacer {
  private start = -1;
  private sent = 0;
  private readonly nsPerPacket: number;
  private readonly nap = new Int32Array(new SharedArrayBuffer(4));

  constructor(pps: number) {
    this.nsPerPacket = 1e9 / pps;
  }

  /** Packets due at `now` (ns). */
  due(now: number): number {
    if (this.start < 0) this.start = now;
    const owed = Math.floor((now - this.start) / this.nsPerPacket) - this.sent;
    const maxOwed = Math.ceil(MAX_DEBT_NS / this.nsPerPacket);
    if (owed > maxOwed) {
      this.sent += owed - maxOwed;
      return maxOwed;
    }
    return owed;
  }

  /** Counts `n` packets sent. */
  took(n: number): void {
    this.sent += n;
  }

  /** Sleeps until the next packet is due (a timed wait oversleeps by tens of µs here). */
  waitNext(now: number): void {
    const ns = this.start + (this.sent + 1) * this.nsPerPacket - now;
    if (ns > 0) futex.wait(this.nap, 0, 0, ns / 1e6);
  }
}
