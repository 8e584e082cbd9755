/**
 * Shared-memory stats of one link, written by the arbiter with plain stores and read
 * lock-free by the main thread. A live read may see one pass half-applied; consistent
 * figures come from a snapshot (the arbiter copies between passes on request) or from the
 * final snapshot after the arbiter stops, where conservation holds exactly.
 *
 * Buffer layout (Float64 words):
 *
 * | words                         | writer  | content                                  |
 * |-------------------------------|---------|------------------------------------------|
 * | 0 .. LINK_FIELDS-1            | arbiter | link counters (LINK_* below)              |
 * | LINK_FIELDS + c·CLASS_FIELDS  | arbiter | class slot c counters (CLASS_* below)     |
 *
 * Client counters live in each client's own channel buffer (see src/client/client.ts): the
 * client is their only writer.
 */

// Link counters.
export const LINK_PASSES = 0; // arbiter passes over this link
export const LINK_PARKS = 1; // times the arbiter parked (arbiter-wide, mirrored per link)
export const LINK_WIRE_BYTES = 2; // bytes released incl. 24 B framing per packet
export const LINK_FIRST_RELEASE_NS = 3; // clock at the first release (0: none yet)
export const LINK_IDLE_NS = 4; // the pacing clock linkIdle
export const LINK_DROP_BAD_FRAME = 5; // frames refused before a class could be charged
export const LINK_NOW_NS = 6; // clock of the last pass (or of the snapshot)
export const LINK_TX_ERRORS = 7; // frames the transmit port failed to send
export const LINK_PORT_FAULT = 8; // 0, or the -errno that stops the port now (every pass)
export const LINK_PORT_FAULTS = 9; // the port's counters (TxPort.counters), copied by snapshots
export const LINK_PORT_RETRIES = 10;
export const LINK_PORT_RING_FULL = 11;
export const LINK_PORT_KICKS = 12;
/**
 * AF_PACKET: frames released in the second before the link saw its device's MTU lowered
 * that are longer than the new MTU — the kernel drops such frames without saying so, so
 * they count as sent; this is how many may have been.
 */
export const LINK_MTU_SUSPECT = 13;
export const LINK_FIELDS = 14;

// Per-class counters.
export const CLASS_ARRIVED_PKTS = 0; // drained from mailboxes for this class
export const CLASS_ARRIVED_BYTES = 1;
export const CLASS_SENT_PKTS = 2; // completed by the transmit port
export const CLASS_SENT_BYTES = 3;
export const CLASS_DROP_QUEUE_LIMIT = 4; // tail drops at the class (or FIFO) limit
export const CLASS_DROP_NO_CLASS = 5; // stamped with a slot the scheduler lacks
export const CLASS_DROP_DELETED = 6; // queued when the class was deleted
export const CLASS_DROP_TX_ERROR = 7; // the transmit port reported an error
export const CLASS_DROP_BAD_FRAME = 8; // runt or longer than a frame
export const CLASS_DROPPED_BYTES = 9;
export const CLASS_BACKLOG_PKTS = 10; // refreshed by snapshots
export const CLASS_BACKLOG_BYTES = 11;
export const CLASS_DROP_AQM = 12; // dropped by the scheduler's active queue management (CoDel)
export const CLASS_DROP_POLICED = 13; // over its filter's policer (tc police ... drop)
export const CLASS_DROP_SHUTDOWN = 14; // still queued when a draining stop ran out of time
export const CLASS_FIELDS = 15;

/** Reasons a packet handed to the arbiter was dropped, in report order. */
export const DROP_REASONS = {
  queueLimit: CLASS_DROP_QUEUE_LIMIT,
  noClass: CLASS_DROP_NO_CLASS,
  classDeleted: CLASS_DROP_DELETED,
  txError: CLASS_DROP_TX_ERROR,
  badFrame: CLASS_DROP_BAD_FRAME,
  aqm: CLASS_DROP_AQM,
  policed: CLASS_DROP_POLICED,
  shutdown: CLASS_DROP_SHUTDOWN,
} as const;
export type DropReason = keyof typeof DROP_REASONS;

export function allocateLinkStats(maxClasses: number): SharedArrayBuffer {
  return new SharedArrayBuffer(8 * (LINK_FIELDS + maxClasses * CLASS_FIELDS));
}

/** Word index of class `slot`'s counter `field`. */
export function classWord(slot: number, field: number): number {
  return LINK_FIELDS + slot * CLASS_FIELDS + field;
}
