/**
 * A doorbell lets a consumer park on a futex (futex.ts) while its producers ring it only when
 * the consumer has announced that it is parking (an idle consumer costs producers one
 * `Atomics.load` per batch, a busy one nothing more).
 *
 * A consumer may park for more than one entry (`arm(want)`): a client waiting for free
 * frames asks for a batch of them, so the arbiter wakes it once per batch rather than on
 * every pass — a futex wake is a system call on the arbiter's CPU, per parked client.
 * Only a ring's own doorbell may be armed so (its producer compares the ring's fill level
 * with `want`, spsc-ring.ts); a doorbell shared by many rings (the arbiter's) is armed for 1.
 *
 * Layout (two Int32 words at `base` in a shared Int32Array):
 *
 * | word     | type  | writer            | reader    | meaning                              |
 * |----------|-------|-------------------|-----------|--------------------------------------|
 * | base + 0 | int32 | consumer          | producers | entries wanted while (about to be) parked, 0 when not |
 * | base + 1 | int32 | producers (add)   | consumer  | ring count; the word the consumer waits on   |
 *
 * A doorbell built with a clock also keeps wake times, two Float64 after the words (six
 * Int32 words in all, and `base` must be even): `armedAt` (the consumer's clock when it last armed) at Float64 index
 * base/2 + 1, and `rungAt` (a producer's clock at the first ring since then) at base/2 + 2.
 * The consumer, awake again, knows how long after that ring it got to run (`wakeLatency`):
 * the scheduler's wake-up latency, or on a VM its virtual CPU's. Producers without a clock
 * (the host's commands) ring without stamping.
 *
 * Why no wake-up is lost: the consumer (1) reads the ring count, (2) stores WAITING = 1,
 * (3) re-checks its rings, (4) waits while the count is still the value read in (1). A
 * producer (a) publishes its ring index, (b) loads WAITING and rings if it is 1. All these
 * are sequentially consistent Atomics, so either (3) sees (a) — the consumer does not
 * sleep — or (b) sees (2) — the producer bumps the count, and (4) returns at once or wakes.
 * A ring also clears WAITING (an exchange), so of many producers that see the consumer
 * parking only the first makes the system call: a later one that finds WAITING cleared
 * published before the consumer's next (1)–(3), whose re-check (3) then sees it.
 */
import { futex } from './futex.js';

const WAITING = 0;
const RING_COUNT = 1;
/** Float64 indexes of the wake times, after `base / 2`. */
const ARMED_AT = 1;
const RUNG_AT = 2;

export class Doorbell {
  /** The wake times (null: none kept), and the Float64 indexes of `armedAt` and `rungAt`. */
  private readonly times: Float64Array | null;
  private readonly armedAt: number;
  private readonly rungAt: number;

  /** @param now The shared clock (ns), to keep wake times; both sides of a timed doorbell pass one. */
  constructor(
    private readonly words: Int32Array,
    private readonly base: number,
    private readonly now?: () => number,
  ) {
    this.times = now === undefined ? null : new Float64Array(words.buffer, words.byteOffset, words.length >> 1);
    this.armedAt = (base >> 1) + ARMED_AT;
    this.rungAt = (base >> 1) + RUNG_AT;
  }

  /** Producer side: how many entries the consumer parks for; 0 while it is not parking. */
  wanted(): number {
    // Acquires the consumer's WAITING store (step 2 above).
    return Atomics.load(this.words, this.base + WAITING);
  }

  /** Producer side: wake the consumer if it announced it is parking, whatever it asked for. */
  ring(): void {
    if (this.wanted() !== 0) this.wake();
  }

  /** Producer side, after `wanted` said the consumer parks and what it wants is there; true when this call woke it. */
  wake(): boolean {
    // Claims the wake-up: another producer may have rung it since `wanted` was read.
    if (Atomics.exchange(this.words, this.base + WAITING, 0) === 0) return false;
    // The claim makes this the first ring since the consumer armed: stamp it.
    if (this.times !== null) this.times[this.rungAt] = this.now!();
    // Publishes the ring; the consumer's wait compares against the count it read first.
    Atomics.add(this.words, this.base + RING_COUNT, 1);
    futex.wake(this.words, this.base + RING_COUNT);
    return true;
  }

  /**
   * Consumer side, step 1–2: announces it parks until `want` (≥ 1) entries are ready;
   * returns the token to pass to `park` after re-checking that fewer are.
   */
  arm(want = 1): number {
    if (this.times !== null) this.times[this.armedAt] = this.now!();
    const token = Atomics.load(this.words, this.base + RING_COUNT);
    // Publishes "about to park" to producers; pairs with the load in `wanted`.
    Atomics.store(this.words, this.base + WAITING, want);
    return token;
  }

  /** Consumer side, step 4: sleep until rung or `timeoutMs` passes (Infinity: no limit), or earlier (futex.ts). */
  park(token: number, timeoutMs: number): void {
    futex.wait(this.words, this.base + RING_COUNT, token, timeoutMs);
    this.disarm();
  }

  /**
   * Consumer side, after `park` returned at `now`: how long after the first stamped ring
   * since it armed it got to run (ns), or −1 when no such ring woke it (a timeout, the host).
   */
  wakeLatency(now: number): number {
    const t = this.times;
    if (t === null || !(t[this.rungAt] > t[this.armedAt])) return -1;
    return now - t[this.rungAt];
  }

  /** Consumer side: found work after `arm`, so do not park. */
  disarm(): void {
    Atomics.store(this.words, this.base + WAITING, 0);
  }
}
