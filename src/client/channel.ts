/**
 * A client's channel: everything a client worker needs from its link, as plain cloneable
 * data (the host builds it in `connectClient`), and the layout of the counters the client
 * writes and the host reads. The contract between a client and the arbiter's side; it
 * imports neither.
 *
 * Counters buffer (`counters`; client-written unless noted):
 *
 * | bytes   | type         | writer | field                                          |
 * |---------|--------------|--------|------------------------------------------------|
 * | 0..3    | int32        | host   | stop: 1 asks the client's loop to finish        |
 * | 64..    | float64[7]   | client | offered pkts, offered bytes, backpressure, invalid, unclassified, oversize, capture drops |
 * | 120..   | float64[2·C] | client | per class slot c: offered pkts, offered bytes  |
 */
import type { ClockEpoch } from '../clock.js';
import type { FramePoolLayout } from '../shm/frame-pool.js';
import type { ThreadPlacement } from '../placement.js';

/** Smallest frame a client may send: an Ethernet header. */
export const MIN_FRAME_LEN = 14;

export const CLIENT_STOP = 0; // int32 word
const COUNTERS_BYTE_OFFSET = 64;
export const CLIENT_OFFERED_PKTS = 0; // float64 words from COUNTERS_BYTE_OFFSET
export const CLIENT_OFFERED_BYTES = 1;
export const CLIENT_BACKPRESSURE = 2;
export const CLIENT_INVALID = 3;
/** Packets the client's classifier put in no class (tc: drr/qfq drop them), never sent. */
export const CLIENT_UNCLASSIFIED = 4;
export const CLIENT_OVERSIZE = 5; // captured packets longer than a frame (a GSO super-packet): dropped before sending
export const CLIENT_CAPTURE_DROPS = 6; // diverted packets the kernel dropped before a capture client read them (its socket buffer full)
const CLIENT_HEADER_FIELDS = 7;

/** Everything a client worker needs, as plain cloneable data. */
export interface ClientChannel {
  clientId: number;
  linkId: number;
  maxClasses: number;
  epoch: ClockEpoch;
  pool: FramePoolLayout;
  mailbox: SharedArrayBuffer;
  free: SharedArrayBuffer;
  counters: SharedArrayBuffer;
  /** The arbiter's control buffer, whose doorbell the mailbox rings, at Int32 word `doorbellWord` (arbiter/control.ts). */
  arbiterControl: SharedArrayBuffer;
  doorbellWord: number;
  /** Where a worker running this client places itself (placement.ts); the Client itself ignores it. */
  placement: ThreadPlacement;
}

export function allocateClientCounters(maxClasses: number): SharedArrayBuffer {
  return new SharedArrayBuffer(COUNTERS_BYTE_OFFSET + 8 * (CLIENT_HEADER_FIELDS + 2 * maxClasses));
}

/** Read-side view of a client's counters (for the host). */
export class ClientCounters {
  readonly control: Int32Array;
  readonly totals: Float64Array;
  readonly perClass: Float64Array;
  constructor(buffer: SharedArrayBuffer, maxClasses: number) {
    this.control = new Int32Array(buffer, 0, 1);
    this.totals = new Float64Array(buffer, COUNTERS_BYTE_OFFSET, CLIENT_HEADER_FIELDS);
    this.perClass = new Float64Array(buffer, COUNTERS_BYTE_OFFSET + 8 * CLIENT_HEADER_FIELDS, 2 * maxClasses);
  }
  offeredPackets(slot: number): number {
    return this.perClass[2 * slot];
  }
  offeredBytes(slot: number): number {
    return this.perClass[2 * slot + 1];
  }
  /**
   * Counts one packet handed to the arbiter. The total packet count goes last: a thread
   * that dies mid-count leaves it short by whole packets, which reclaimClient tops up.
   */
  countOffered(cls: number, len: number): void {
    this.perClass[2 * cls]++;
    this.perClass[2 * cls + 1] += len;
    this.totals[CLIENT_OFFERED_BYTES] += len;
    this.totals[CLIENT_OFFERED_PKTS]++;
  }
}
