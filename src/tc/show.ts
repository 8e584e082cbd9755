/**
 * `tc qdisc|class|filter show` output in tc's layout (text, and `-j` JSON with tc's keys),
 * so scripts that parse tc's output keep working:
 *
 *   qdisc htb 1: root refcnt 2 r2q 10 default 0x30 direct_packets_stat 0 direct_qlen 1000
 *    Sent 1234 bytes 12 pkt (dropped 0, overlimits 0 requeues 0)
 *    backlog 0b 0p requeues 0
 *   class htb 1:10 parent 1:1 leaf 10: prio 0 rate 5Mbit ceil 100Mbit burst 1600b cburst 1600b
 *
 * Rates print as tc's sprint_rate does (1000-based units while the value divides evenly),
 * sizes as sprint_size (Kb/Mb when within rounding of a multiple of 1024), times in ms/us.
 * The figures after `-s` come from the arbiter's stats (per class slot of the root qdisc);
 * a qdisc's are the sum of its classes', an inner qdisc's those of the class it sits on,
 * and an inner qdisc's classes report what their own scheduler released and refused.
 */
import { DEFAULT_LIMIT_PACKETS } from '../../schedulers/class-queues.js';
import { classidUnder, formatHandle, formatU32Handle } from './handles.js';
import { protocolName, type ClassSpec, type FilterSpec, type QdiscSpec, type TcFlags } from './model.js';
import { BFIFO_DEFAULT_LIMIT, htbDirectSlot, type TcClass, type TcFilter, type TcTree } from './tree.js';

/** Counters of one class slot, as `-s` prints them. */
export interface SlotStats {
  bytes: number;
  packets: number;
  drops: number;
  overlimits: number;
  backlogBytes: number;
  backlogPackets: number;
  /** The rate estimate (tc's rate line), when the daemon keeps one. */
  rateBps?: number;
  pps?: number;
  /** htb only */
  lends?: number;
  borrows?: number;
  tokens?: number;
  ctokens?: number;
}

export type StatsBySlot = ReadonlyMap<number, SlotStats>;
/** Per root class slot: the counters of the classes of its inner qdisc, by their slots. */
export type InnerStatsBySlot = ReadonlyMap<number, StatsBySlot>;

const RATE_UNITS = ['bit', 'Kbit', 'Mbit', 'Gbit', 'Tbit'];

/**
 * tc's print_rate: divides by 1000 while the value is at least 1000 and either divides
 * evenly or is a million or more (integer division), so 30000000 is "30Mbit" and
 * 27766514 "27766Kbit".
 */
export function formatRate(bps: number): string {
  let r = Math.round(bps);
  let u = 0;
  while (u < RATE_UNITS.length - 1 && r >= 1000 && (r % 1000 === 0 || r >= 1_000_000)) {
    r = Math.floor(r / 1000);
    u++;
  }
  return `${r}${RATE_UNITS[u]}`;
}

/** tc's sprint_size. */
export function formatSize(bytes: number): string {
  const b = Math.round(bytes);
  if (b >= 1024 * 1024 && Math.abs(1024 * 1024 * Math.round(b / (1024 * 1024)) - b) < 1024) return `${Math.round(b / (1024 * 1024))}Mb`;
  if (b >= 1024 && Math.abs(1024 * Math.round(b / 1024) - b) < 16) return `${Math.round(b / 1024)}Kb`;
  return `${b}b`;
}

/** tc's sprint_time (µs in). */
export function formatTimeUs(us: number): string {
  if (us >= 1e6) return `${+(us / 1e6).toFixed(1)}s`;
  if (us >= 1e3) return `${+(us / 1e3).toFixed(1)}ms`;
  return `${Math.round(us)}us`;
}

/** htb's default burst when the command gave none: rate/1e9 s of tokens plus the MTU (tc's `rate / get_hz() + mtu`). */
function htbBurst(rate: number, mtu: number): number {
  return Math.floor(rate / 8 / 1e9 + mtu);
}

/** `direct`: packets an htb sent through its direct queue (unclassified, no default class). */
function qdiscOptions(q: QdiscSpec, direct = 0): string {
  switch (q.kind) {
    case 'htb':
      return `r2q ${q.r2q} default 0x${q.defaultClass.toString(16)} direct_packets_stat ${direct} direct_qlen ${q.directQlen ?? 1000}`;
    case 'prio':
      return `bands ${q.bands} priomap ${q.priomap.join(' ')}`;
    case 'tbf':
      return `rate ${formatRate(q.rate)} burst ${formatSize(q.burst)} lat ${formatTimeUs(((q.limit - q.burst) * 8e6) / q.rate)}`;
    case 'pfifo':
      return `limit ${q.limit ?? 1000}p`;
    case 'bfifo':
      return `limit ${formatSize(q.limit ?? BFIFO_DEFAULT_LIMIT)}`;
    case 'sfq':
      return `limit ${q.limit}p quantum ${formatSize(q.quantum ?? 1514)} depth ${q.depth} divisor ${q.divisor}${q.perturbS ? ` perturb ${q.perturbS}sec` : ''}`;
    case 'fq_codel':
      return `limit ${q.limit}p flows ${q.flows} quantum ${q.quantum} target ${formatTimeUs(q.targetUs)} interval ${formatTimeUs(q.intervalUs)} memory_limit ${formatSize(q.memoryLimit)}${q.ecn ? ' ecn' : ''} drop_batch ${q.dropBatch}`;
    default:
      return '';
  }
}

function classOptions(spec: ClassSpec, isLeaf: boolean): string {
  switch (spec.kind) {
    case 'htb':
      return `${isLeaf ? `prio ${spec.prio} ` : ''}rate ${formatRate(spec.rate)} ceil ${formatRate(spec.ceil)} burst ${formatSize(spec.burst ?? htbBurst(spec.rate, spec.mtu))} cburst ${formatSize(spec.cburst ?? htbBurst(spec.ceil, spec.mtu))}`;
    case 'drr':
      return `quantum ${formatSize(spec.quantum ?? 1514)}`;
    case 'qfq':
      return `weight ${spec.weight ?? 1} maxpkt ${spec.maxpkt ?? 2048}`;
    default:
      return '';
  }
}

function statsLines(s: SlotStats | undefined): string[] {
  const z = s ?? { bytes: 0, packets: 0, drops: 0, overlimits: 0, backlogBytes: 0, backlogPackets: 0 };
  const rate = z.rateBps === undefined ? '' : ` rate ${formatRate(z.rateBps)} ${Math.round(z.pps ?? 0)}pps`;
  return [
    ` Sent ${z.bytes} bytes ${z.packets} pkt (dropped ${z.drops}, overlimits ${z.overlimits} requeues 0) `,
    `${rate} backlog ${z.backlogBytes}b ${z.backlogPackets}p requeues 0`,
  ];
}

function sumStats(parts: (SlotStats | undefined)[]): SlotStats {
  const t: SlotStats = { bytes: 0, packets: 0, drops: 0, overlimits: 0, backlogBytes: 0, backlogPackets: 0 };
  for (const p of parts) {
    if (!p) continue;
    if (p.rateBps !== undefined) {
      t.rateBps = (t.rateBps ?? 0) + p.rateBps;
      t.pps = (t.pps ?? 0) + (p.pps ?? 0);
    }
    t.bytes += p.bytes;
    t.packets += p.packets;
    t.drops += p.drops;
    t.overlimits += p.overlimits;
    t.backlogBytes += p.backlogBytes;
    t.backlogPackets += p.backlogPackets;
  }
  return t;
}

/** Every slot the root qdisc's traffic passes through (htb's direct queue included). */
function allSlots(tree: TcTree): number[] {
  const slots = [...tree.classes.values()].filter((c) => c.owner === tree.root.handle).map((c) => c.slot);
  if (tree.root.qdisc.kind === 'htb') slots.push(htbDirectSlot(tree));
  if (tree.classes.size === 0) slots.push(0);
  return slots;
}

/** A class's counters: the root qdisc's by slot; an inner qdisc's through the root class it sits on. */
function statsOf(tree: TcTree, stats: StatsBySlot, c: TcClass, inner: InnerStatsBySlot): SlotStats {
  if (c.owner === tree.root.handle) return stats.get(c.slot) ?? sumStats([]);
  const holder = [...tree.classes.values()].find((x) => x.leaf?.handle === c.owner);
  return (holder && inner.get(holder.slot)?.get(c.slot)) ?? sumStats([]);
}

/** tc prints "root" for a class at the top of its qdisc, except prio's bands, which name it. */
function classWhere(c: TcClass): string {
  return c.parent === c.owner && c.spec.kind !== 'prio' ? 'root' : `parent ${formatHandle(c.parent)}`;
}

function isLeaf(tree: TcTree, c: TcClass): boolean {
  return ![...tree.classes.values()].some((o) => o.parent === c.classid);
}

/** `withDev`: name the device on each line, as tc does when `show` was given no `dev`. */
export function showQdiscs(tree: TcTree, flags: TcFlags, stats: StatsBySlot, withDev = false): string | object[] {
  const rootStats = sumStats(allSlots(tree).map((s) => stats.get(s)));
  const direct = tree.root.qdisc.kind === 'htb' ? (stats.get(htbDirectSlot(tree))?.packets ?? 0) : 0;
  const entries: { kind: string; handle: number; parent: number | 'root'; options: string; q: QdiscSpec; s: SlotStats; direct: number }[] = [
    { kind: tree.root.qdisc.kind, handle: tree.root.handle, parent: 'root', options: qdiscOptions(tree.root.qdisc, direct), q: tree.root.qdisc, s: rootStats, direct },
  ];
  for (const c of tree.classes.values()) {
    if (c.leaf) entries.push({ kind: c.leaf.qdisc.kind, handle: c.leaf.handle, parent: c.classid, options: qdiscOptions(c.leaf.qdisc), q: c.leaf.qdisc, s: statsOf(tree, stats, c, new Map()), direct: 0 });
  }
  if (flags.json) {
    return entries.map((e) => ({
      kind: e.kind,
      handle: formatHandle(e.handle),
      ...(withDev ? { dev: tree.dev } : {}),
      ...(e.parent === 'root' ? { root: true, refcnt: 2 } : { parent: formatHandle(e.parent) }),
      options: jsonQdiscOptions(e.q, e.direct),
      ...(flags.stats ? jsonStats(e.s) : {}),
    }));
  }
  const lines: string[] = [];
  for (const e of entries) {
    const where = e.parent === 'root' ? 'root refcnt 2' : `parent ${formatHandle(e.parent)}`;
    lines.push(`qdisc ${e.kind} ${formatHandle(e.handle)} ${withDev ? `dev ${tree.dev} ` : ''}${where} ${e.options}`.trimEnd() + ' ');
    if (flags.stats) lines.push(...statsLines(e.s));
  }
  return lines.join('\n');
}

export function showClasses(tree: TcTree, flags: TcFlags, stats: StatsBySlot, only?: number, inner: InnerStatsBySlot = new Map()): string | object[] {
  const list = [...tree.classes.values()].filter((c) => only === undefined || c.classid === only).sort((x, y) => x.classid - y.classid);
  if (flags.json) {
    return list.map((c) => ({
      class: c.spec.kind === 'prio' ? 'prio' : c.spec.kind,
      handle: formatHandle(c.classid),
      ...(classWhere(c) === 'root' ? { root: true } : { parent: formatHandle(c.parent) }),
      ...(c.leaf ? { leaf: formatHandle(c.leaf.handle) } : {}),
      ...jsonClassOptions(c.spec, isLeaf(tree, c)),
      ...(flags.stats ? jsonStats(statsOf(tree, stats, c, inner)) : {}),
    }));
  }
  const lines: string[] = [];
  for (const c of list) {
    const where = classWhere(c);
    const leaf = c.leaf ? ` leaf ${formatHandle(c.leaf.handle)}` : '';
    lines.push(`class ${c.spec.kind} ${formatHandle(c.classid)} ${where}${leaf} ${classOptions(c.spec, isLeaf(tree, c))}`.trimEnd() + ' ');
    if (!flags.stats) continue;
    const s = statsOf(tree, stats, c, inner);
    lines.push(...statsLines(s));
    if (c.spec.kind === 'htb') {
      lines.push(` lended: ${s?.lends ?? 0} borrowed: ${s?.borrows ?? 0} giants: 0`);
      lines.push(` tokens: ${Math.round(s?.tokens ?? 0)} ctokens: ${Math.round(s?.ctokens ?? 0)}`);
    }
    lines.push('');
  }
  if (lines.at(-1) === '') lines.pop();
  return lines.join('\n');
}

function filterTail(spec: FilterSpec, parent: number): string {
  const flow = spec.classid === undefined ? '' : ` flowid ${formatHandle(classidUnder(spec.classid, parent))}`;
  const police = spec.police ? ` police rate ${formatRate(spec.police.rate)} burst ${formatSize(spec.police.burst)} action ${spec.police.exceed}` : '';
  return `${flow}${police}`;
}

export function showFilters(tree: TcTree, flags: TcFlags): string | object[] {
  const sorted = [...tree.filters].sort((x, y) => x.prio - y.prio);
  if (flags.json) {
    return sorted.map((f) => ({ parent: formatHandle(f.parent), protocol: protocolName(f.protocol), pref: f.prio, kind: f.spec.kind, ...(f.handle ? { options: { fh: f.handle } } : {}) }));
  }
  const lines: string[] = [];
  for (const f of sorted) lines.push(...filterLines(f));
  return lines.join('\n');
}

function filterLines(f: TcFilter): string[] {
  const head = `filter parent ${formatHandle(f.parent)} protocol ${protocolName(f.protocol)} pref ${f.prio} ${f.spec.kind} chain 0`;
  const s = f.spec;
  if (s.kind === 'fw') return [`${head} handle 0x${s.mark.toString(16)}${s.mask !== 0xffffffff ? `/0x${s.mask.toString(16)}` : ''}${filterTail(s, f.parent)}`];
  if (s.kind !== 'u32') return [`${head} handle 0x1${filterTail(s, f.parent)}`];
  if (s.divisor !== undefined) return [`${head} fh ${formatU32Handle(s.handle ?? 0)} ht divisor ${s.divisor}`];
  const fh = s.handle !== undefined ? formatU32Handle(s.handle) : s.ht !== undefined ? formatU32Handle(s.ht) : '800::';
  const link = s.link !== undefined ? ` link ${formatU32Handle(s.link)}` : '';
  return [
    `${head} fh ${fh}${link}${filterTail(s, f.parent)} not_in_hw`,
    ...s.keys.map((k) => `  match ${k.value.toString(16).padStart(8, '0')}/${k.mask.toString(16).padStart(8, '0')} at ${k.nexthdr ? 'nexthdr+' : ''}${k.off}`),
    ...(s.hashkey ? [`    hash mask ${s.hashkey.mask.toString(16).padStart(8, '0')} at ${s.hashkey.off}`] : []),
  ];
}

function jsonStats(s: SlotStats): object {
  const rate = s.rateBps === undefined ? {} : { rate: Math.round(s.rateBps / 8), pps: Math.round(s.pps ?? 0) }; // tc -j: bytes/s
  return { bytes: s.bytes, packets: s.packets, drops: s.drops, overlimits: s.overlimits, requeues: 0, ...rate, backlog: s.backlogBytes, qlen: s.backlogPackets };
}

/** tc -j prints rates in bytes/s and sizes in bytes. */
function jsonQdiscOptions(q: QdiscSpec, direct: number): object {
  switch (q.kind) {
    case 'htb':
      return { r2q: q.r2q, default: `0x${q.defaultClass.toString(16)}`, direct_packets_stat: direct, direct_qlen: q.directQlen ?? 1000 };
    case 'prio':
      return { bands: q.bands, priomap: q.priomap };
    case 'tbf':
      return { rate: q.rate / 8, burst: q.burst, limit: q.limit };
    case 'pfifo':
    case 'bfifo':
      return { limit: q.limit ?? (q.kind === 'pfifo' ? DEFAULT_LIMIT_PACKETS : BFIFO_DEFAULT_LIMIT) };
    default:
      return {};
  }
}

function jsonClassOptions(spec: ClassSpec, leaf: boolean): object {
  switch (spec.kind) {
    case 'htb':
      return { ...(leaf ? { prio: spec.prio } : {}), rate: spec.rate / 8, ceil: spec.ceil / 8, burst: spec.burst ?? htbBurst(spec.rate, spec.mtu), cburst: spec.cburst ?? htbBurst(spec.ceil, spec.mtu) };
    case 'drr':
      return { quantum: spec.quantum ?? 1514 };
    case 'qfq':
      return { weight: spec.weight ?? 1, maxpkt: spec.maxpkt ?? 2048 };
    default:
      return {};
  }
}
