/**
 * A doorbell lets a consumer park on `Atomics.wait` while its producers ring it only when
 * the consumer has announced that it is parking (an idle consumer costs producers one
 * `Atomics.load` per batch, a busy one nothing more).
 *
 * Layout (two Int32 words at `base` in a shared Int32Array):
 *
 * | word     | type  | writer            | reader    | meaning                              |
 * |----------|-------|-------------------|-----------|--------------------------------------|
 * | base + 0 | int32 | consumer          | producers | 1 while the consumer is (about to be) parked |
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

  /** Producer side: wake the consumer if it announced it is parking. */
  ring(): void {
    // Acquires the consumer's WAITING store (step 2 above).
    if (Atomics.load(this.words, this.base + WAITING) !== 0) {
      // Publishes the ring; the consumer's wait compares against the count it read first.
      Atomics.add(this.words, this.base + RING_COUNT, 1);
      Atomics.notify(this.words, this.base + RING_COUNT);
    }
  }

  /** Consumer side, step 1–2: returns the token to pass to `park` after re-checking work. */
  arm(): number {
    const token = Atomics.load(this.words, this.base + RING_COUNT);
    // Publishes "about to park" to producers; pairs with the load in `ring`.
    Atomics.store(this.words, this.base + WAITING, 1);
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
