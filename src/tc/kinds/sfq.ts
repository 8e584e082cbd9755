/** sfq (tc-sfq(8), q_sfq.c): flows hashed into a fixed number of queues, served round robin. */
import { whatIs } from '../errors.js';
import { formatSize } from '../format.js';
import type { Kind, QdiscOf } from './kind.js';

/** The quantum tc shows when none was given (the kernel's psched_mtu on Ethernet). */
const DEFAULT_QUANTUM = 1514;

export const sfq: Kind<'sfq'> = {
  parse(a) {
    const q = {
      kind: 'sfq' as const,
      perturbS: 0,
      quantum: undefined as number | undefined,
      limit: 127,
      divisor: 1024,
      flows: 128,
      depth: 127,
      headdrop: false,
    };
    while (!a.done) {
      const w = a.next();
      if (w === 'perturb') q.perturbS = a.uint('perturb');
      else if (w === 'quantum') q.quantum = a.size('quantum');
      else if (w === 'limit') q.limit = a.uint('limit', 1);
      else if (w === 'divisor') q.divisor = a.uint('divisor', 1, 65536);
      else if (w === 'flows') q.flows = a.uint('flows', 1, 65536);
      else if (w === 'depth') q.depth = a.uint('depth', 1, 127);
      else if (w === 'headdrop') q.headdrop = true;
      else throw whatIs(w);
    }
    const { quantum, ...rest } = q;
    return (quantum === undefined ? rest : { ...rest, quantum }) satisfies QdiscOf<'sfq'>;
  },
  rootParams: (q) => ({
    limitPackets: q.limit,
    divisor: q.divisor,
    flows: q.flows,
    depth: q.depth,
    headdrop: q.headdrop,
    perturbS: q.perturbS,
    ...(q.quantum !== undefined ? { quantum: q.quantum } : {}),
  }),
  show: (q) =>
    `limit ${q.limit}p quantum ${formatSize(q.quantum ?? DEFAULT_QUANTUM)} depth ${q.depth} divisor ${q.divisor}${q.perturbS ? ` perturb ${q.perturbS}sec` : ''}`,
  json: () => ({}),
  dump: (q) =>
    `sfq perturb ${q.perturbS} limit ${q.limit} divisor ${q.divisor} flows ${q.flows} depth ${q.depth}${q.quantum !== undefined ? ` quantum ${q.quantum}` : ''}${q.headdrop ? ' headdrop' : ''}`,
};
