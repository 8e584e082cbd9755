/** sfq (tc-sfq(8), q_sfq.c): flows hashed into a fixed number of queues, served round robin. */
import { whatIs } from '../errors.js';
import { formatSize } from '../format.js';
import { unsupported } from '../netlink-attrs.js';
import type { RootParams } from '../../../schedulers/types.js';
import { flowQueues, type Kind, type QdiscOf } from './kind.js';

/** The quantum tc shows when none was given (the kernel's psched_mtu on Ethernet). */
const DEFAULT_QUANTUM = 1514;

/** sfq's options as the scheduler's. */
function params(q: QdiscOf<'sfq'>): RootParams {
  return {
    limitPackets: q.limit,
    divisor: q.divisor,
    flows: q.flows,
    depth: q.depth,
    headdrop: q.headdrop,
    perturbS: q.perturbS,
    ...(q.quantum !== undefined ? { quantum: q.quantum } : {}),
  };
}

export const sfq: Kind<'sfq'> = {
  ...flowQueues('sfq', params),
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
  show: (q) =>
    `limit ${q.limit}p quantum ${formatSize(q.quantum ?? DEFAULT_QUANTUM)} depth ${q.depth} divisor ${q.divisor}${q.perturbS ? ` perturb ${q.perturbS}sec` : ''}`,
  json: () => ({}),
  dump: (q) =>
    `sfq perturb ${q.perturbS} limit ${q.limit} divisor ${q.divisor} flows ${q.flows} depth ${q.depth}${q.quantum !== undefined ? ` quantum ${q.quantum}` : ''}${q.headdrop ? ' headdrop' : ''}`,
  decode(raw) {
    if (raw === undefined) return unsupported('sfq without its parameters');
    // tc_sfq_qopt_v1: quantum, perturb_period (s), limit, divisor, flows, depth, headdrop
    return {
      kind: 'sfq',
      quantum: raw.getUint32(0, true),
      perturbS: raw.getInt32(4, true),
      limit: raw.getUint32(8, true),
      divisor: raw.getUint32(12, true),
      flows: raw.getUint32(16, true),
      depth: raw.getUint32(20, true),
      headdrop: raw.getUint32(24, true) !== 0,
    };
  },
};
