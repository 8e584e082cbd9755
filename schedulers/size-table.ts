/**
 * A size table (tc's `stab`, the kernel's qdisc_size_table): the length a root qdisc
 * charges a packet instead of its own, so that shaping counts what a link layer really
 * carries — an ATM/ADSL line sends each packet in 53-byte cells of 48 bytes' payload,
 * plus its encapsulation's overhead, which is why sqm-scripts sets one for DSL.
 *
 * The arbiter charges each frame it admits (the frame table's `charged` column) and
 * the schedulers read that column as FrameTable.len; links without a table charge the
 * frame's length. The computation is the kernel's (net/sched/sch_api.c,
 * __qdisc_calculate_pkt_len); the table is the one tc builds (tc_core.c,
 * tc_calc_size_table; src/tc/stab.ts here).
 */
import { InvalidOptionError } from '../src/errors.js';

/** An ATM cell: 53 bytes on the line, 48 of them payload. */
const ATM_CELL_SIZE = 53;
const ATM_CELL_PAYLOAD = 48;

/** Bytes on an ATM line for `size` bytes of payload: whole cells (tc's tc_align_to_atm, the kernel's psched_l2t_ns). */
export function atmCells(size: number): number {
  return Math.ceil(size / ATM_CELL_PAYLOAD) * ATM_CELL_SIZE;
}

/** What tc sends the kernel: struct tc_sizespec's fields that the computation uses, and the table. */
export interface SizeTableParams {
  /** Bytes added to every packet before the lookup; may be negative. */
  overhead: number;
  /** The table's slots are 2^cellLog bytes wide. */
  cellLog: number;
  /** What the table holds is shifted left this much. */
  sizeLog: number;
  /** Added before the slot is found (tc: −1, so a packet of exactly a cell's size stays in its slot). */
  cellAlign: number;
  /** Charged sizes by slot (>> sizeLog); empty: only the overhead is added. */
  data: number[];
}

/** More slots than one netlink message carries (u16 each, in 64 KiB): tc cannot send them. */
const MAX_SLOTS = 1 << 15;

export class SizeTable {
  private readonly overhead: number;
  private readonly cellLog: number;
  private readonly sizeLog: number;
  private readonly cellAlign: number;
  private readonly data: Uint16Array;
  private readonly tsize: number;

  constructor(p: SizeTableParams) {
    if (!Number.isInteger(p.overhead) || !Number.isInteger(p.cellAlign)) throw new InvalidOptionError('sizeTable', 'overhead and cellAlign must be integers');
    if (!(Number.isInteger(p.cellLog) && p.cellLog >= 0 && p.cellLog < 32) || !(Number.isInteger(p.sizeLog) && p.sizeLog >= 0 && p.sizeLog < 16)) {
      throw new InvalidOptionError('sizeTable', `cellLog must be in [0, 31] and sizeLog in [0, 15], got ${p.cellLog} and ${p.sizeLog}`);
    }
    if (p.data.length > MAX_SLOTS || p.data.some((v) => !(Number.isInteger(v) && v >= 0 && v <= 0xffff))) {
      throw new InvalidOptionError('sizeTable', `data must be at most ${MAX_SLOTS} sizes in [0, 65535]`);
    }
    this.overhead = p.overhead;
    this.cellLog = p.cellLog;
    this.sizeLog = p.sizeLog;
    this.cellAlign = p.cellAlign;
    this.data = Uint16Array.from(p.data);
    this.tsize = p.data.length;
  }

  /** The length charged for a packet of `len` bytes (at least 1, as the kernel's). */
  charge(len: number): number {
    let size = len + this.overhead;
    if (this.tsize > 0) {
      let slot = size + this.cellAlign;
      if (slot < 0) slot = 0;
      slot >>= this.cellLog;
      // Past the table: whole tables' worth of its last entry, plus the rest's entry.
      size = slot < this.tsize ? this.data[slot] : this.data[this.tsize - 1] * Math.floor(slot / this.tsize) + this.data[slot % this.tsize];
      size <<= this.sizeLog;
    }
    return size < 1 ? 1 : size;
  }
}
