/**
 * A transmit port: where released frames leave the arbiter. The same interface serves the
 * inline path (the arbiter calls it directly) and, later, transmit workers.
 *
 * Frames handed to `submit` belong to the port until `reap` returns them, as completed
 * or failed; the caller recycles them. Neither method throws or allocates.
 */
export interface TxPort {
  readonly name: string;
  /** Takes frames `batch[0..count)`; returns how many it accepted (a prefix). */
  submit(batch: Int32Array, count: number): number;
  /**
   * Moves up to `max` finished frames into `done`, and for each a status into `status`
   * (0 sent, otherwise a negative errno); returns how many.
   */
  reap(done: Int32Array, status: Int32Array, max: number): number;
  /** Frames submitted and not yet reaped. */
  readonly inFlight: number;
  close(): void;
}
