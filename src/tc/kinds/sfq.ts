/** sfq (tc-sfq(8), q_sfq.c): flows hashed into a fixed number of queues, served round robin. */
import { TcArgs } from '../args.js';
import { TcError, TC_EXIT_REJECTED, whatIs } from '../errors.js';
import { formatSize } from '../format.js';
import { unsupported } from '../netlink-attrs.js';
import type { RootParams } from '../../../schedulers/types.js';
import { flowQueues, type Kind, type QdiscOf } from './kind.js';

/** The quantum tc shows when none was given (the kernel's psched_mtu on Ethernet). */
const DEFAULT_QUANTUM = 1514;
/** The kernel's caps (sch_sfq.c): a flow's depth, and the flow slots (what fits in 16 bits beside the depth). */
const SFQ_MAX_DEPTH = 127;
const SFQ_MAX_FLOWS = 0x10000 - SFQ_MAX_DEPTH - 1;

type Sfq = QdiscOf<'sfq'>;

/** sfq_init's state before it applies the command's options. */
const INITIAL: Sfq = { kind: 'sfq', perturbS: 0, limit: 127, divisor: 1024, flows: 128, depth: SFQ_MAX_DEPTH, headdrop: false };

/** The options a command names (tc sends zero for the others). */
type Named = Partial<Omit<Sfq, 'kind'>>;

function parseNamed(a: TcArgs): Named {
  const o: Named = {};
  while (!a.done) {
    const w = a.next();
    if (w === 'perturb') o.perturbS = a.uint('perturb');
    else if (w === 'quantum') o.quantum = a.size('quantum');
    else if (w === 'limit') o.limit = a.uint('limit', 1);
    else if (w === 'divisor') o.divisor = a.uint('divisor');
    else if (w === 'flows') o.flows = a.uint('flows');
    else if (w === 'depth') o.depth = a.uint('depth');
    else if (w === 'headdrop') o.headdrop = true;
    else throw whatIs(w);
  }
  return o;
}

/**
 * What the named options do to an sfq's state, as sch_sfq's sfq_change (on add, over
 * sfq_init's defaults): a field not named keeps its value, except perturb and headdrop,
 * which every command sets; flows and depth are capped, and a limit caps the flows.
 */
function sfqChange(q: Sfq, o: Named): Sfq {
  if (o.divisor !== undefined && (o.divisor > 65536 || (o.divisor & (o.divisor - 1)) !== 0)) {
    throw new TcError(TC_EXIT_REJECTED, 'RTNETLINK answers: Invalid argument');
  }
  const r: Sfq = { ...q, perturbS: o.perturbS ?? 0, headdrop: o.headdrop ?? false };
  if (o.quantum) r.quantum = o.quantum;
  if (o.flows) r.flows = Math.min(o.flows, SFQ_MAX_FLOWS);
  if (o.divisor) {
    r.divisor = o.divisor;
    r.flows = Math.min(r.flows, r.divisor);
  }
  if (o.depth) r.depth = Math.min(o.depth, SFQ_MAX_DEPTH);
  if (o.limit) {
    r.limit = Math.min(o.limit, r.depth * r.flows);
    r.flows = Math.min(r.flows, r.limit);
  }
  return r;
}

/** sfq's options as the scheduler's. */
function params(q: Sfq): RootParams {
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
  parse: (a) => sfqChange(INITIAL, parseNamed(a)),
  /** Only what the command names changes, but perturb and headdrop always (words: the options as written). */
  change: (old, _next, words) => sfqChange(old, parseNamed(new TcArgs(words))),
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
