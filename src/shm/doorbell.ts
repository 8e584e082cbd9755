/**
 * A doorbell lets a consumer park on `Atomics.wait` while its producers ring it only when
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
 * Why no wake-up is lost: the consumer (1) reads the ring count, (2) stores WAITING = 1,
 * (3) re-checks its rings, (4) waits while the count is still the value read in (1). A
 * producer (a) publishes its ring index, (b) loads WAITING and rings if it is 1. All these
 * are sequentially consistent Atomics, so either (3) sees (a) — the consumer does not
 * sleep — or (b) sees (2) — the producer bumps the count, and (4) returns at once or wakes.
 */

const WAITING = 0;
const RING_COUNT = 1;

export class Doorbell {
  constructor(
    private readonly words: Int32Array,
    private readonly base: number,
  ) {}

  /** Producer side: how many entries the consumer parks for; 0 while it is not parking. */
  wanted(): number {
    // Acquires the consumer's WAITING store (step 2 above).
    return Atomics.load(this.words, this.base + WAITING);
  }

  /** Producer side: wake the consumer if it announced it is parking, whatever it asked for. */
  ring(): void {
    if (this.wanted() !== 0) this.wake();
  }

  /** Producer side, after `wanted` said the consumer parks and what it wants is there. */
  wake(): void {
    // Publishes the ring; the consumer's wait compares against the count it read first.
    Atomics.add(this.words, this.base + RING_COUNT, 1);
    Atomics.notify(this.words, this.base + RING_COUNT);
  }

  /**
   * Consumer side, step 1–2: announces it parks until `want` (≥ 1) entries are ready;
   * returns the token to pass to `park` after re-checking that fewer are.
   */
  arm(want = 1): number {
    const token = Atomics.load(this.words, this.base + RING_COUNT);
    // Publishes "about to park" to producers; pairs with the load in `wanted`.
    Atomics.store(this.words, this.base + WAITING, want);
    return token;
  }

  /** Consumer side, step 4: sleep until rung or `timeoutMs` passes (Infinity: no limit). */
  park(token: number, timeoutMs: number): void {
    Atomics.wait(this.words, this.base + RING_COUNT, token, timeoutMs);
    this.disarm();
  }

  /** Consumer side: found work after `arm`, so do not park. */
  disarm(): void {
    Atomics.store(this.words, this.base + WAITING, 0);
  }
}
