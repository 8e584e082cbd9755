/**
 * What a link layer adds to a packet in tc's rate computations (tc-htb(8), tc-tbf(8),
 * tc-stab(8)): a per-packet `overhead`, a minimum size (`mpu`), and for ATM (DSL) whole
 * 53-byte cells, each carrying 48 bytes (schedulers/size-table.ts `atmCells`).
 */
import { matches } from './args.js';

export type Linklayer = 'ethernet' | 'atm';

/** tc's get_linklayer: ethernet, or atm (adsl is its other name); undefined for anything else. */
export function parseLinklayer(word: string): Linklayer | undefined {
  if (matches(word, 'ethernet')) return 'ethernet';
  if (matches(word, 'atm') || matches(word, 'adsl')) return 'atm';
  return undefined;
}
