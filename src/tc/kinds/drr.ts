/** drr (tc-drr(8), q_drr.c): no qdisc options; classes with a quantum. */
import { whatIs } from '../errors.js';
import { formatSize } from '../format.js';
import { u32 } from '../netlink-attrs.js';
import { optionless, userClasses, type ClassOf, type Kind } from './kind.js';

/** The quantum tc shows for a class that was given none (the kernel's psched_mtu on Ethernet). */
const DEFAULT_QUANTUM = 1514;

export const drr: Kind<'drr'> = {
  ...optionless('drr'),
  scheduler: (_q, tree, handle) => userClasses('drr', tree.classesOf(handle)),
  onClass: 'inner',
  noChange: true,
  classes: {
    parse(a) {
      const c: ClassOf<'drr'> = { kind: 'drr' };
      while (!a.done) {
        const w = a.next();
        if (w === 'quantum') c.quantum = a.size('quantum');
        else throw whatIs(w);
      }
      return c;
    },
    params: (s) => (s.quantum !== undefined ? { quantum: s.quantum } : {}),
    show: (spec) => `quantum ${formatSize(spec.quantum ?? DEFAULT_QUANTUM)}`,
    json: (spec) => ({ quantum: spec.quantum ?? DEFAULT_QUANTUM }),
    dump: (c) => `drr${c.quantum !== undefined ? ` quantum ${c.quantum}` : ''}`,
    decode: (o) => ({ kind: 'drr', quantum: u32(o.get(1)) }), // TCA_DRR_QUANTUM
  },
};
