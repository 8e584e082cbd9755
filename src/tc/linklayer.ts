/**
 * What a link layer adds to a packet in tc's rate computations (tc-htb(8), tc-tbf(8),
 * tc-stab(8)): a per-packet `overhead`, a minimum size (`mpu`), and for ATM (DSL) whole
 * 53-byte cells, each carrying 48 bytes.
 */
import { matches } from './args.js';

export type Linklayer = 'ethernet' | 'atm';

/** An ATM cell: 53 bytes on the line, 48 of them payload. */
const ATM_CELL_SIZE = 53;
const ATM_CELL_PAYLOAD = 48;

/** tc's get_linklayer: ethernet, or atm (adsl is its other name); undefined for anything else. */
export function parseLinklayer(word: string): Linklayer | undefined {
  if (matches(word, 'ethernet')) return 'ethernet';
  if (matches(word, 'atm') || matches(word, 'adsl')) return 'atm';
  return undefined;
}

/** Bytes on an ATM line for `size` bytes of payload: whole cells. */
export function atmCells(size: number): number {
  return Math.ceil(size / ATM_CELL_PAYLOAD) * ATM_CELL_SIZE;
}
