/**
 * The classes that split a link by weight under any scheduler kind: what the demo and the
 * simulator configure when the user gives only weights.
 *   fifo, drr, qfq, wf2q  the weight itself (fifo ignores it);
 *   prio                  class i is band i (the weights only label the classes);
 *   htb                   a parent class (slot n) holding the link's rate, and leaves that
 *                         are assured weight/Σw of half the link and may borrow up to all
 *                         of it, with quanta in proportion to weight: saturated classes
 *                         then split the link by weight, as under fair queueing, while a
 *                         class alone may take the whole link.
 */
import type { ClassParams } from './types.js';

export interface SlottedClass extends ClassParams {
  slot: number;
}

/** Half of the link is assured to the htb leaves; the rest is lent by quantum. */
const HTB_ASSURED_FRACTION = 0.5;
/** An htb leaf's DRR quantum per unit of weight: one Ethernet frame, as DRR's default. */
const HTB_QUANTUM_PER_WEIGHT = 1514;

/** Class slots the kind needs for `n` weighted classes (htb adds the parent). */
export function slotsFor(kind: string, n: number): number {
  return kind === 'htb' ? n + 1 : n;
}

export function weightedClasses(kind: string, weights: readonly number[], linkRate: number, common: ClassParams = {}): SlottedClass[] {
  if (kind === 'prio') return weights.map((weight, band) => ({ ...common, slot: band, weight, band }));
  if (kind !== 'htb') return weights.map((weight, slot) => ({ ...common, slot, weight }));
  const parent = weights.length;
  const total = weights.reduce((a, w) => a + w, 0);
  const leaves = weights.map((weight, slot) => ({
    ...common,
    slot,
    weight,
    parent,
    rate: (linkRate * HTB_ASSURED_FRACTION * weight) / total,
    ceil: linkRate,
    quantum: Math.max(1, Math.round(weight * HTB_QUANTUM_PER_WEIGHT)),
  }));
  return [{ slot: parent, rate: linkRate }, ...leaves];
}
