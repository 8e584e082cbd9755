/** fq_codel (tc-fq_codel(8), q_fq_codel.c): flow queues, each kept short by CoDel. */
import { TcError, TC_EXIT_REJECTED, whatIs } from '../errors.js';
import { formatSize, formatTimeUs } from '../format.js';
import { parseAttrs, u32 } from '../netlink-attrs.js';
import type { RootParams } from '../../../schedulers/types.js';
import { flowQueues, type Kind, type QdiscOf } from './kind.js';

type FqCodel = QdiscOf<'fq_codel'>;

/** The MTU tc assumes for the default quantum (Ethernet). */
const ETH_MTU = 1514;

/** Its option words and the fields they set: its `change` sets only these (fq_codel_change). */
const FIELDS: Record<string, keyof FqCodel> = {
  limit: 'limit',
  flows: 'flows',
  target: 'targetUs',
  interval: 'intervalUs',
  quantum: 'quantum',
  ecn: 'ecn',
  noecn: 'ecn',
  ce_threshold: 'ceThresholdUs',
  memory_limit: 'memoryLimit',
  drop_batch: 'dropBatch',
};

/** fq_codel's options as the scheduler's. */
function params(q: FqCodel): RootParams {
  return {
    limitPackets: q.limit,
    flows: q.flows,
    quantum: q.quantum,
    targetUs: q.targetUs,
    intervalUs: q.intervalUs,
    memoryLimit: q.memoryLimit,
    dropBatch: q.dropBatch,
    ecn: q.ecn,
    ...(q.ceThresholdUs !== undefined ? { ceThresholdUs: q.ceThresholdUs } : {}),
  };
}

export const fqCodel: Kind<'fq_codel'> = {
  ...flowQueues('fq_codel', params),
  parse(a) {
    const q: FqCodel = {
      kind: 'fq_codel',
      limit: 10240,
      flows: 1024,
      targetUs: 5000,
      intervalUs: 100_000,
      quantum: ETH_MTU,
      ecn: true,
      memoryLimit: 32 << 20,
      dropBatch: 64,
    };
    while (!a.done) {
      const w = a.next();
      if (w === 'limit') q.limit = a.uint('limit', 1);
      else if (w === 'flows') q.flows = a.uint('flows', 1, 65536);
      else if (w === 'target') q.targetUs = a.time('target');
      else if (w === 'interval') q.intervalUs = a.time('interval');
      else if (w === 'quantum') q.quantum = a.size('quantum');
      else if (w === 'ecn') q.ecn = true;
      else if (w === 'noecn') q.ecn = false;
      else if (w === 'ce_threshold') q.ceThresholdUs = a.time('ce_threshold');
      else if (w === 'memory_limit') q.memoryLimit = a.size('memory_limit');
      else if (w === 'drop_batch') q.dropBatch = a.uint('drop_batch', 1);
      else throw whatIs(w);
    }
    return q;
  },
  show: (q) =>
    `limit ${q.limit}p flows ${q.flows} quantum ${q.quantum} target ${formatTimeUs(q.targetUs)}${q.ceThresholdUs !== undefined ? ` ce_threshold ${formatTimeUs(q.ceThresholdUs)}` : ''} interval ${formatTimeUs(q.intervalUs)} memory_limit ${formatSize(q.memoryLimit)}${q.ecn ? ' ecn' : ''} drop_batch ${q.dropBatch}`,
  json: () => ({}),
  dump: (q) =>
    `fq_codel limit ${q.limit} flows ${q.flows} target ${q.targetUs}us interval ${q.intervalUs}us quantum ${q.quantum} ${q.ecn ? 'ecn' : 'noecn'} memory_limit ${q.memoryLimit} drop_batch ${q.dropBatch}${q.ceThresholdUs !== undefined ? ` ce_threshold ${q.ceThresholdUs}us` : ''}`,
  /**
   * Only the options the command named (`words`, after the kind) change, as the kernel's
   * fq_codel_change sets only the attributes it was sent; flows cannot change once set
   * (the kernel's EINVAL).
   */
  change(old, next, words) {
    const merged: Record<string, unknown> = { ...old };
    for (const w of words) {
      const field = FIELDS[w];
      if (field !== undefined) merged[field] = next[field];
    }
    if (merged.flows !== old.flows) throw new TcError(TC_EXIT_REJECTED, 'RTNETLINK answers: Invalid argument');
    return merged as FqCodel;
  },
  decode(raw) {
    // TCA_FQ_CODEL_TARGET 1, LIMIT 2, INTERVAL 3, ECN 4, FLOWS 5, QUANTUM 6, CE_THRESHOLD 7, DROP_BATCH_SIZE 8, MEMORY_LIMIT 9
    const o = parseAttrs(raw);
    const ce = u32(o.get(7));
    return {
      kind: 'fq_codel',
      targetUs: u32(o.get(1))!,
      limit: u32(o.get(2))!,
      intervalUs: u32(o.get(3))!,
      ecn: u32(o.get(4)) === 1,
      flows: u32(o.get(5))!,
      quantum: u32(o.get(6))!,
      ...(ce !== undefined ? { ceThresholdUs: ce } : {}),
      dropBatch: u32(o.get(8))!,
      memoryLimit: u32(o.get(9))!,
    };
  },
};
