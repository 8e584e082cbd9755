/**
 * Qdisc and class options per kind, as tc's q_*.c parse them (tc-htb(8), tc-prio(8),
 * tc-tbf(8), tc-sfq(8), tc-fq_codel(8), tc-drr(8), tc-qfq(8), tc-pfifo(8)): keywords in
 * any order, tc's defaults filled in, tc's messages for what it refuses. Limits the
 * kernel enforces (a weight too large, a parent that does not exist) are the daemon's to
 * check: a parser refusal exits 1, a kernel refusal 2.
 */
import { TcArgs } from './args.js';
import { badArg, duplicateArg, TcError, TC_EXIT_REJECTED } from './errors.js';
import type { ClassSpec, QdiscKind, QdiscSpec } from './model.js';

/** tc's unknown-keyword message. */
export function whatIs(word: string): TcError {
  return badArg(`What is "${word}"?`);
}

/** The MTU tc assumes when it derives burst and quantum (Ethernet). */
const ETH_MTU = 1514;
/** prio's default map from the 16 TOS-derived priorities to bands (tc-prio(8)). */
const PRIO_DEFAULT_PRIOMAP = [1, 2, 2, 2, 1, 2, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1];
const PRIO_MAX_BANDS = 16;

type QdiscParser = (a: TcArgs) => QdiscSpec;

function htbQdisc(a: TcArgs): QdiscSpec {
  const q: QdiscSpec = { kind: 'htb', defaultClass: 0, r2q: 10 };
  while (!a.done) {
    const w = a.next();
    if (w === 'default') q.defaultClass = hexOrFail(a.next(), 'default');
    else if (w === 'r2q') q.r2q = a.uint('r2q', 1);
    else if (w === 'direct_qlen') q.directQlen = a.uint('direct_qlen');
    else throw whatIs(w);
  }
  return q;
}

/** htb's `default` is a class minor in hex (`default 30` is 1:30). */
function hexOrFail(text: string, name: string): number {
  if (!/^(?:0x)?[0-9a-f]{1,4}$/i.test(text)) throw badArg(`Illegal "${name}"`);
  return parseInt(text, 16);
}

function prioQdisc(a: TcArgs): QdiscSpec {
  let bands = 3;
  const priomap = [...PRIO_DEFAULT_PRIOMAP];
  let mapped = -1; // entries given after `priomap`; -1 before the keyword
  while (!a.done) {
    const w = a.next();
    if (w === 'bands') bands = a.uint('bands', 2, PRIO_MAX_BANDS);
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
}

/** The largest byte count the kernel's 32-bit fields hold. */
const U32_MAX = 2 ** 32 - 1;

function tbfQdisc(a: TcArgs): QdiscSpec {
  let rate = 0;
  let burst = 0;
  let limit = 0;
  let latencyUs = 0;
  let peakrate: number | undefined;
  let mtu: number | undefined;
  while (!a.done) {
    const w = a.next();
    if (w === 'rate') rate = a.rate('rate');
    else if (w === 'burst' || w === 'buffer' || w === 'maxburst') burst = burstSize(a, 'burst');
    else if (w === 'limit') limit = a.size('limit');
    else if (w === 'latency') latencyUs = a.time('latency');
    else if (w === 'peakrate') peakrate = a.rate('peakrate');
    else if (w === 'mtu' || w === 'minburst') mtu = burstSize(a, 'mtu');
    else throw whatIs(w);
  }
  if (!rate || !burst) throw badArg('"rate" and "burst" are required.');
  if (!limit && !latencyUs) throw badArg('Either "limit" or "latency" are required.');
  if (limit && latencyUs) throw badArg('"limit" and "latency" are mutually exclusive.');
  // tc: a latency becomes the bytes the bucket's rate drains in that time, plus the burst;
  // the kernel keeps it in 32 bits, so a huge rate (libvirt's 4294967295kbps) holds 4 GiB.
  if (!limit) limit = Math.min(Math.floor((rate / 8) * (latencyUs / 1e6)) + burst, U32_MAX);
  return { kind: 'tbf', rate, burst, limit, ...(peakrate ? { peakrate } : {}), ...(mtu ? { mtu } : {}) };
}

/** tc's `burst SIZE[/CELL]`: the cell log only matters to the kernel's rate tables. */
function burstSize(a: TcArgs, name: string): number {
  const [size] = a.next().split('/');
  return new TcArgs([size]).size(name);
}

function fifoQdisc(kind: 'pfifo' | 'bfifo'): QdiscParser {
  return (a) => {
    let limit: number | undefined;
    while (!a.done) {
      const w = a.next();
      if (w === 'limit') limit = kind === 'pfifo' ? a.uint('limit') : a.size('limit');
      else throw whatIs(w);
    }
    return limit === undefined ? { kind } : { kind, limit };
  };
}

function sfqQdisc(a: TcArgs): QdiscSpec {
  const q = { kind: 'sfq' as const, perturbS: 0, quantum: undefined as number | undefined, limit: 127, divisor: 1024, flows: 128, depth: 127, headdrop: false };
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
  return quantum === undefined ? rest : { ...rest, quantum };
}

function fqCodelQdisc(a: TcArgs): QdiscSpec {
  const q: Extract<QdiscSpec, { kind: 'fq_codel' }> = {
    kind: 'fq_codel', limit: 10240, flows: 1024, targetUs: 5000, intervalUs: 100_000, quantum: ETH_MTU, ecn: true, memoryLimit: 32 << 20, dropBatch: 64,
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
}

function noOptions(kind: 'drr' | 'qfq'): QdiscParser {
  return (a) => {
    if (!a.done) throw whatIs(a.next());
    return { kind };
  };
}

const QDISCS: Record<QdiscKind, QdiscParser> = {
  htb: htbQdisc,
  drr: noOptions('drr'),
  qfq: noOptions('qfq'),
  prio: prioQdisc,
  tbf: tbfQdisc,
  pfifo: fifoQdisc('pfifo'),
  bfifo: fifoQdisc('bfifo'),
  sfq: sfqQdisc,
  fq_codel: fqCodelQdisc,
};

export function isQdiscKind(word: string): word is QdiscKind {
  return Object.hasOwn(QDISCS, word);
}

/** fq_codel's option words and the fields they set: its `change` sets only these (fq_codel_change). */
const FQ_CODEL_FIELDS: Record<string, keyof Extract<QdiscSpec, { kind: 'fq_codel' }>> = {
  limit: 'limit', flows: 'flows', target: 'targetUs', interval: 'intervalUs', quantum: 'quantum', ecn: 'ecn', noecn: 'ecn',
  ce_threshold: 'ceThresholdUs', memory_limit: 'memoryLimit', drop_batch: 'dropBatch',
};

/**
 * What a `change` (or `replace` of the same qdisc) of `old` to `next` leaves the qdisc
 * with: for fq_codel only the options the command named (`words`, after the kind) change,
 * as the kernel's fq_codel_change sets only the attributes it was sent; the others take
 * `next` whole. fq_codel's flows cannot change once set (the kernel's EINVAL).
 */
export function changedQdisc(old: QdiscSpec, next: QdiscSpec, words: readonly string[]): QdiscSpec {
  if (old.kind !== 'fq_codel' || next.kind !== 'fq_codel') return next;
  const merged: Record<string, unknown> = { ...old };
  for (const w of words) {
    const field = FQ_CODEL_FIELDS[w];
    if (field !== undefined) merged[field] = next[field];
  }
  if (merged.flows !== old.flows) throw new TcError(TC_EXIT_REJECTED, 'RTNETLINK answers: Invalid argument');
  return merged as QdiscSpec;
}

/** The options after a qdisc's kind word. */
export function parseQdiscSpec(kind: string, a: TcArgs): QdiscSpec {
  if (!isQdiscKind(kind)) {
    if (!a.done) throw badArg(`Unknown qdisc "${kind}", hence option "${a.peek()}" is unparsable`);
    throw new TcError(TC_EXIT_REJECTED, 'Error: Specified qdisc kind is unknown.');
  }
  return QDISCS[kind](a);
}

function htbClass(a: TcArgs): ClassSpec {
  let rate = 0;
  let ceil = 0;
  const c: Omit<Extract<ClassSpec, { kind: 'htb' }>, 'rate' | 'ceil'> = { kind: 'htb', prio: 0, mtu: 1600, mpu: 0, overhead: 0 };
  while (!a.done) {
    const w = a.next();
    if (w === 'rate') rate = a.rate('rate');
    else if (w === 'ceil') ceil = a.rate('ceil');
    else if (w === 'burst' || w === 'buffer' || w === 'maxburst') c.burst = burstSize(a, 'burst');
    else if (w === 'cburst' || w === 'cbuffer' || w === 'cmaxburst') c.cburst = burstSize(a, 'cburst');
    else if (w === 'prio') c.prio = a.uint('prio', 0, 7);
    else if (w === 'quantum') c.quantum = a.size('quantum');
    else if (w === 'mtu') c.mtu = a.size('mtu');
    else if (w === 'mpu') c.mpu = a.size('mpu');
    else if (w === 'overhead') c.overhead = a.uint('overhead', 0, 0xffff);
    else throw whatIs(w);
  }
  if (!rate) throw badArg('"rate" is required.');
  return { ...c, rate, ceil: ceil || rate };
}

function drrClass(a: TcArgs): ClassSpec {
  const c: Extract<ClassSpec, { kind: 'drr' }> = { kind: 'drr' };
  while (!a.done) {
    const w = a.next();
    if (w === 'quantum') c.quantum = a.size('quantum');
    else throw whatIs(w);
  }
  return c;
}

function qfqClass(a: TcArgs): ClassSpec {
  const c: Extract<ClassSpec, { kind: 'qfq' }> = { kind: 'qfq' };
  while (!a.done) {
    const w = a.next();
    if (w === 'weight') c.weight = a.uint('weight', 1);
    else if (w === 'maxpkt') c.maxpkt = a.size('maxpkt');
    else throw whatIs(w);
  }
  return c;
}

const CLASSES: Partial<Record<QdiscKind, (a: TcArgs) => ClassSpec>> = { htb: htbClass, drr: drrClass, qfq: qfqClass };

/** The options after a class's kind word (the kind of the qdisc it belongs to). */
export function parseClassSpec(kind: string, a: TcArgs): ClassSpec {
  const parse = isQdiscKind(kind) ? CLASSES[kind] : undefined;
  if (!parse) {
    if (isQdiscKind(kind)) throw new TcError(TC_EXIT_REJECTED, `Error: Qdisc "${kind}" is classless.`);
    throw badArg(`Unknown qdisc "${kind}", hence option "${a.peek() ?? ''}" is unparsable`);
  }
  return parse(a);
}
