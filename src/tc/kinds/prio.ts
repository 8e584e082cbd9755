/** prio (tc-prio(8), q_prio.c): bands and the priomap; its classes are its bands, made with it. */
import { badArg, duplicateArg, whatIs } from '../errors.js';
import { unsupported } from '../netlink-attrs.js';
import type { Kind } from './kind.js';

/** The default map from the 16 TOS-derived priorities to bands (tc-prio(8)). */
const DEFAULT_PRIOMAP = [1, 2, 2, 2, 1, 2, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1];
const MAX_BANDS = 16;

export const prio: Kind<'prio'> = {
  parse(a) {
    let bands = 3;
    const priomap = [...DEFAULT_PRIOMAP];
    let mapped = -1; // entries given after `priomap`; -1 before the keyword
    while (!a.done) {
      const w = a.next();
      if (w === 'bands') bands = a.uint('bands', 2, MAX_BANDS);
      else if (w === 'priomap') {
        if (mapped >= 0) throw duplicateArg('priomap', w);
        mapped = 0;
      } else if (mapped < 0) throw whatIs(w);
      else {
        if (!/^[0-9]+$/.test(w)) throw badArg('Illegal "priomap" element');
        if (mapped >= priomap.length) throw badArg('"priomap" index > TC_PRIO_MAX=15');
        priomap[mapped++] = Number(w);
      }
    }
    // Checked once bands is known, as the kernel does (so `bands 2` needs a priomap).
    if (priomap.some((b) => b >= bands)) throw badArg('"priomap" element is out of bands');
    return { kind: 'prio', bands, priomap };
  },
  show: (q) => `bands ${q.bands} priomap ${q.priomap.join(' ')}`,
  json: (q) => ({ bands: q.bands, priomap: q.priomap }),
  dump: (q) => `prio bands ${q.bands} priomap ${q.priomap.join(' ')}`,
  decode(raw) {
    if (raw === undefined) return unsupported('prio without its parameters');
    // tc_prio_qopt: bands, priomap[16]
    return { kind: 'prio', bands: raw.getInt32(0, true), priomap: Array.from({ length: 16 }, (_, i) => raw.getUint8(4 + i)) };
  },
  // A band is all a prio class says: its slot is its index, and unclassified IPv4 packets go by the priomap.
  scheduler: (q, tree, handle) => ({
    scheduler: 'prio',
    rootParams: {},
    classes: new Map(tree.classesOf(handle).map((c) => [c.slot, { band: c.slot, ...c.params }])),
    unclassifiedSlot: q.priomap[0],
    priomapSlots: [...q.priomap],
    bands: q.bands,
  }),
  onClass: 'inner',
  // The kernel makes the bands with the qdisc: :1..:bands.
  fixedClasses: (q) => Array.from({ length: q.bands }, (_, b) => ({ minor: b + 1, slot: b })),
};
