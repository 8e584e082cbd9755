/**
 * A transmit port: where released frames leave the arbiter. The same interface serves the
 * inline path (the arbiter calls it directly) and transmit workers.
 *
 * Frames handed to `submit` belong to the port until `reap` returns them, as completed
 * or failed; the caller recycles them. Neither method throws or allocates.
 *
 * Faults: a port whose device cannot transmit (down, deleted, or stalled past its retry
 * bound) fails the frames it holds (reaped with their -errno), reports `fault`, and
 * accepts nothing until it has recovered by itself (ports check their device while
 * reaped); the arbiter releases nothing to a faulted port, so its queues hold.
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
  /** 0 while the port transmits; otherwise the -errno that stopped it (-ENODEV: the device is gone). */
  readonly fault: number;
  /** What the port has met so far (all zero for ports without a device). */
  counters(): PortCounters;
  close(): void;
}

export interface PortCounters {
  /** Wake-ups of the kernel. */
  kicks: number;
  /** Kicks the device refused for a moment (EAGAIN, EBUSY, ENOBUFS): its frames waited and were retried. */
  retries: number;
  /** Submits cut short because the port's ring was full (backpressure on the link clock). */
  ringFull: number;
  /** Times the port faulted (device down or gone, or a stall past the retry bound). */
  faults: number;
}

export const NO_PORT_COUNTERS: Readonly<PortCounters> = { kicks: 0, retries: 0, ringFull: 0, faults: 0 };
