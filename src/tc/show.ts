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
import { formatHandle, TC_H_ROOT } from './handles.js';
import { hashOrder } from './class-hash.js';
import { protocolName, type ClassSpec, type FilterSpec, type QdiscSpec, type TcFlags } from './model.js';
import { ticksToUsec, tokenTicks, xmitSize, xmitTicks } from './ticks.js';
import { bfifoLimit, htbDirectQlen, htbDirectSlot, htbQuantum, pfifoLimit, qfqMaxpkt, type TcClass, type TcFilter, type TcTree } from './tree.js';
import type { DeviceFacts } from '../net/device.js';

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

/** tc's sprint_time (µs in): three significant digits, as C's %.3g, in s, ms or us. */
export function formatTimeUs(us: number): string {
  const [v, unit] = us >= 1e6 ? [us / 1e6, 's'] : us >= 1e3 ? [us / 1e3, 'ms'] : [us, 'us'];
  return `${Number(v.toPrecision(3))}${unit}`;
}

/** tc's `%#x`: hex with 0x, except zero. */
function hexAlt(n: number): string {
  return n === 0 ? '0' : `0x${n.toString(16)}`;
}

/** A burst as the kernel stores it (a transmit time in ticks at `rate` bit/s) and tc prints it back, in bytes. */
function storedBurst(rate: number, bytes: number): number {
  return xmitSize(rate / 8, xmitTicks(rate / 8, bytes));
}

/** An htb class's burst and cburst, given or by tc's default (rate/HZ + mtu), in bytes as written. */
function htbBursts(spec: Extract<ClassSpec, { kind: 'htb' }>): { burst: number; cburst: number } {
  return { burst: spec.burst ?? htbBurst(spec.rate, spec.mtu), cburst: spec.cburst ?? htbBurst(spec.ceil, spec.mtu) };
}

/** tbf's latency (µs) as tc computes it from the limit and the stored burst: negative when the limit is below the burst. */
function tbfLatencyUs(q: Extract<QdiscSpec, { kind: 'tbf' }>): number {
  const rateBytes = q.rate / 8;
  return (1e6 * q.limit) / rateBytes - ticksToUsec(xmitTicks(rateBytes, q.burst));
}

/** htb's default burst when the command gave none: rate/1e9 s of tokens plus the MTU (tc's `rate / get_hz() + mtu`). */
function htbBurst(rate: number, mtu: number): number {
  return Math.floor(rate / 8 / 1e9 + mtu);
}

/** Kinds whose options tc prints without a trailing space. */
const NO_TRAILING_SPACE = new Set(['htb', 'pfifo', 'bfifo']);

/**
 * A qdisc's options as tc prints them (`details`: what -d adds). `direct`: packets an htb
 * sent through its direct queue (unclassified, no default class).
 */
function qdiscOptions(q: QdiscSpec, device: DeviceFacts, details: boolean, direct = 0): string {
  switch (q.kind) {
    case 'htb':
      return `r2q ${q.r2q} default ${hexAlt(q.defaultClass)} direct_packets_stat ${direct}${details ? ' ver 3.17' : ''} direct_qlen ${htbDirectQlen(q, device)}`;
    case 'prio':
      return `bands ${q.bands} priomap ${q.priomap.join(' ')}`;
    case 'tbf': {
      const burst = `burst ${formatSize(storedBurst(q.rate, q.burst))}${details ? '/1 mpu 0b' : ''}`;
      const lat = tbfLatencyUs(q);
      // A limit below the burst has no latency to speak of: tc shows the limit instead.
      const tail = lat >= 0 ? `lat ${formatTimeUs(Math.floor(lat))}` : `limit ${formatSize(q.limit)}`;
      return `rate ${formatRate(q.rate)} ${burst} ${tail}${details ? ' linklayer ethernet' : ''}`;
    }
    case 'pfifo':
      return `limit ${pfifoLimit(q, device)}p`;
    case 'bfifo':
      return `limit ${formatSize(bfifoLimit(q, device))}`;
    case 'sfq':
      return `limit ${q.limit}p quantum ${formatSize(q.quantum ?? 1514)} depth ${q.depth} divisor ${q.divisor}${q.perturbS ? ` perturb ${q.perturbS}sec` : ''}`;
    case 'fq_codel':
      return `limit ${q.limit}p flows ${q.flows} quantum ${q.quantum} target ${formatTimeUs(q.targetUs)}${q.ceThresholdUs !== undefined ? ` ce_threshold ${formatTimeUs(q.ceThresholdUs)}` : ''} interval ${formatTimeUs(q.intervalUs)} memory_limit ${formatSize(q.memoryLimit)}${q.ecn ? ' ecn' : ''} drop_batch ${q.dropBatch}`;
    default:
      return '';
  }
}

/** A class's options as tc prints them: `details` (-d) adds htb's quantum, linklayer, cells, mpu and level. */
function classOptions(tree: TcTree, c: TcClass, details: boolean): string {
  const spec = c.spec;
  switch (spec.kind) {
    case 'htb': {
      const { burst, cburst } = htbBursts(spec);
      const leaf = isLeaf(tree, c);
      const cell = details ? `/1 mpu ${formatSize(spec.mpu)}` : '';
      return [
        ...(leaf ? [`prio ${spec.prio}`] : []),
        ...(leaf && details ? [`quantum ${htbQuantum(tree, c, spec).quantum}`] : []),
        `rate ${formatRate(spec.rate)} ceil ${formatRate(spec.ceil)}`,
        ...(details ? ['linklayer ethernet'] : []),
        `burst ${formatSize(storedBurst(spec.rate, burst))}${cell} cburst ${formatSize(storedBurst(spec.ceil, cburst))}${cell}`,
        ...(details ? [`level ${htbLevel(tree, c)}`] : []),
      ].join(' ');
    }
    case 'drr':
      return `quantum ${formatSize(spec.quantum ?? 1514)}`;
    case 'qfq':
      return `weight ${spec.weight ?? 1} maxpkt ${qfqMaxpkt(spec, tree.device)}`;
    default:
      return '';
  }
}

/** htb's level: 0 for a leaf; an inner class sits one below its parent, a top-level one at TC_HTB_MAXDEPTH − 1. */
function htbLevel(tree: TcTree, c: TcClass): number {
  if (isLeaf(tree, c)) return 0;
  return c.parent === c.owner ? HTB_MAX_LEVEL : htbLevel(tree, tree.classes.get(c.parent)!) - 1;
}
const HTB_MAX_LEVEL = 7;

/** `Sent` and `backlog` lines; the rate line's figures only where an estimator was asked for, as tc prints them. */
function statsLines(s: SlotStats | undefined, estimated: boolean): string[] {
  const z = s ?? { bytes: 0, packets: 0, drops: 0, overlimits: 0, backlogBytes: 0, backlogPackets: 0 };
  const rate = estimated && z.rateBps !== undefined ? ` rate ${formatRate(z.rateBps)} ${Math.round(z.pps ?? 0)}pps` : '';
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
  const own = ownStatsOf(tree, stats, c, inner);
  if (c.spec.kind !== 'htb' || isLeaf(tree, c)) return own;
  // sch_htb counts what passes through an inner class as its own sent bytes and packets.
  const children = [...tree.classes.values()].filter((x) => x.parent === c.classid).map((x) => statsOf(tree, stats, x, inner));
  const sent = sumStats(children);
  return { ...own, bytes: own.bytes + sent.bytes, packets: own.packets + sent.packets };
}

function ownStatsOf(tree: TcTree, stats: StatsBySlot, c: TcClass, inner: InnerStatsBySlot): SlotStats {
  if (c.owner === tree.root.handle) return stats.get(c.slot) ?? sumStats([]);
  const holder = [...tree.classes.values()].find((x) => x.leaf?.handle === c.owner);
  return (holder && inner.get(holder.slot)?.get(c.slot)) ?? sumStats([]);
}

/** tc prints "root" for a class at the top of its qdisc, except the classes a qdisc makes itself (prio's bands, tbf's), which name it. */
function classWhere(c: TcClass): string {
  return c.parent === c.owner && c.spec.kind !== 'prio' && c.spec.kind !== 'tbf' ? 'root' : `parent ${formatHandle(c.parent)}`;
}

function isLeaf(tree: TcTree, c: TcClass): boolean {
  return ![...tree.classes.values()].some((o) => o.parent === c.classid);
}

/** `withDev`: name the device on each line, as tc does when `show` was given no `dev`. */
export function showQdiscs(tree: TcTree, flags: TcFlags, stats: StatsBySlot, withDev = false): string | object[] {
  const rootStats = sumStats(allSlots(tree).map((s) => stats.get(s)));
  const direct = tree.root.qdisc.kind === 'htb' ? (stats.get(htbDirectSlot(tree))?.packets ?? 0) : 0;
  const entries: { handle: number; parent: number | 'root'; q: QdiscSpec; s: SlotStats; direct: number; estimated: boolean }[] = [
    { handle: tree.root.handle, parent: 'root', q: tree.root.qdisc, s: rootStats, direct, estimated: tree.root.estimator !== undefined },
  ];
  for (const c of tree.classes.values()) {
    // tbf grafts its child under its own handle.
    const parent = c.spec.kind === 'tbf' ? c.parent : c.classid;
    if (c.leaf) entries.push({ handle: c.leaf.handle, parent, q: c.leaf.qdisc, s: statsOf(tree, stats, c, new Map()), direct: 0, estimated: false });
  }
  // The kernel's root qdisc is held once per transmit queue of the device, and once as the device's.
  const refcnt = tree.device.txQueues + 1;
  if (flags.json) {
    return entries.map((e) => ({
      kind: e.q.kind,
      handle: formatHandle(e.handle),
      ...(withDev ? { dev: tree.dev } : {}),
      ...(e.parent === 'root' ? { root: true, refcnt } : { parent: formatHandle(e.parent) }),
      options: jsonQdiscOptions(e.q, e.direct, tree.device),
      ...(flags.stats ? jsonStats(e.s, e.estimated) : {}),
    }));
  }
  const lines: string[] = [];
  for (const e of entries) {
    const where = e.parent === 'root' ? `root refcnt ${refcnt}` : `parent ${formatHandle(e.parent)}`;
    const options = qdiscOptions(e.q, tree.device, flags.details, e.direct);
    const end = NO_TRAILING_SPACE.has(e.q.kind) ? '' : ' ';
    lines.push(`qdisc ${e.q.kind} ${formatHandle(e.handle)} ${withDev ? `dev ${tree.dev} ` : ''}${where}${options ? ` ${options}` : ''}${end}`);
    if (flags.stats) lines.push(...statsLines(e.s, e.estimated));
  }
  return lines.join('\n');
}

/**
 * The classes in the order the kernel dumps them: the root qdisc's, then each inner
 * qdisc's; an htb's, drr's or qfq's in its class-hash order, a prio's bands in order.
 */
function dumpOrder(tree: TcTree): TcClass[] {
  const owners = [tree.root.handle, ...[...tree.classes.values()].flatMap((c) => (c.leaf ? [c.leaf.handle] : [])).sort((a, b) => a - b)];
  return owners.flatMap((owner) => {
    const hashed = tree.classHashes.get(owner);
    if (hashed) return hashOrder(hashed).map((id) => tree.classes.get(id)!);
    return [...tree.classes.values()].filter((c) => c.owner === owner).sort((x, y) => x.classid - y.classid);
  });
}

export function showClasses(tree: TcTree, flags: TcFlags, stats: StatsBySlot, only?: number, inner: InnerStatsBySlot = new Map()): string | object[] {
  const list = dumpOrder(tree).filter((c) => only === undefined || c.classid === only);
  if (flags.json) {
    return list.map((c) => ({
      class: c.spec.kind === 'prio' ? 'prio' : c.spec.kind,
      handle: formatHandle(c.classid),
      ...(classWhere(c) === 'root' ? { root: true } : { parent: formatHandle(c.parent) }),
      ...(c.leaf ? { leaf: formatHandle(c.leaf.handle) } : {}),
      ...jsonClassOptions(c.spec, isLeaf(tree, c), tree.device),
      ...(flags.stats ? jsonStats(statsOf(tree, stats, c, inner), c.estimator !== undefined) : {}),
    }));
  }
  const lines: string[] = [];
  for (const c of list) {
    const where = classWhere(c);
    const leaf = c.leaf ? ` leaf ${formatHandle(c.leaf.handle)}` : '';
    const options = classOptions(tree, c, flags.details);
    lines.push(`class ${c.spec.kind} ${formatHandle(c.classid)} ${where}${leaf} ${options ? `${options} ` : ''}`);
    if (!flags.stats) continue;
    const s = statsOf(tree, stats, c, inner);
    lines.push(...statsLines(s, c.estimator !== undefined));
    if (c.spec.kind === 'htb') {
      lines.push(` lended: ${s.lends ?? 0} borrowed: ${s.borrows ?? 0} giants: 0`);
      lines.push(` tokens: ${htbTokens(c.spec, 'rate', s.tokens)} ctokens: ${htbTokens(c.spec, 'ceil', s.ctokens)}`);
    }
    // tc ends every class's block of statistics with a blank line, the last one's too.
    lines.push('');
  }
  return lines.join('\n');
}

/**
 * htb's tokens as the kernel reports them: the bucket's time in ticks, at most the stored
 * burst's (pspat keeps bytes; a full bucket reads as the kernel's full bucket).
 */
function htbTokens(spec: Extract<ClassSpec, { kind: 'htb' }>, which: 'rate' | 'ceil', bytes: number | undefined): number {
  const rate = which === 'rate' ? spec.rate : spec.ceil;
  const { burst, cburst } = htbBursts(spec);
  const full = xmitTicks(rate / 8, which === 'rate' ? burst : cburst);
  return Math.min(full, tokenTicks(rate / 8, bytes ?? (which === 'rate' ? burst : cburst)));
}

/** What `filter show` selects by (tc's filter show arguments). */
export interface FilterSelection {
  parent?: number;
  prio?: number;
  protocol?: number;
}

/**
 * `filter show`: the filters of the qdisc named by `parent`, else of the root qdisc (as the
 * kernel dumps them), by priority, of the priority and protocol asked for; what the
 * command named (parent, pref, protocol) is left off each line, as tc does.
 */
export function showFilters(tree: TcTree, flags: TcFlags, select: FilterSelection = {}): string | object[] {
  const parent = select.parent;
  const on = parent === undefined || parent === TC_H_ROOT ? tree.root.handle : parent;
  const sorted = tree.filters
    .filter((f) => f.parent === on && (select.prio === undefined || f.prio === select.prio) && (select.protocol === undefined || f.protocol === select.protocol))
    .sort((x, y) => x.prio - y.prio);
  if (flags.json) {
    const base = (f: TcFilter) => ({ parent: formatHandle(f.parent), protocol: protocolName(f.protocol), pref: f.prio, kind: f.spec.kind, chain: 0 });
    return listings(sorted).flatMap((l) => {
      const f = l[0];
      if (!f.u32) return [{ ...base(f), ...(f.handle ? { options: { fh: f.handle } } : {}) }];
      return [base(f), ...u32Entries(l).map((options) => ({ ...base(f), options }))];
    });
  }
  const lines: string[] = [];
  for (const l of listings(sorted)) {
    const f = l[0];
    const named = [
      parent === undefined ? `parent ${formatHandle(on)} ` : '',
      select.protocol === undefined ? `protocol ${protocolName(f.protocol)} ` : '',
      select.prio === undefined ? `pref ${f.prio} ` : '',
    ];
    const head = `filter ${named.join('')}${f.spec.kind} chain 0`;
    lines.push(...(f.u32 ? u32Lines(l, head) : filterLines(f, head)));
  }
  return lines.join('\n');
}

/**
 * What `filter show` lists, in order: a priority's u32 filters together (its header, each
 * hash table, the newest first and the root table last, with their nodes), any other
 * filter alone. `sorted`: by priority.
 */
function listings(sorted: TcFilter[]): TcFilter[][] {
  const out: TcFilter[][] = [];
  for (const f of sorted) {
    const last = out.at(-1);
    if (f.u32 && last?.[0].u32 && last[0].prio === f.prio) last.push(f);
    else out.push([f]);
  }
  return out;
}

/** A filter's police action as pspat prints it (` police rate R burst B action A`), or nothing. */
function policeText(spec: FilterSpec): string {
  return spec.police ? ` police rate ${formatRate(spec.police.rate)} burst ${formatSize(spec.police.burst)} action ${spec.police.exceed}` : '';
}

function filterTail(spec: FilterSpec): string {
  return `${spec.classid === undefined ? '' : ` flowid ${formatClassid(spec.classid)}`}${policeText(spec)}`;
}

function filterLines(f: TcFilter, head: string): string[] {
  const s = f.spec;
  if (s.kind === 'fw') return [`${head} handle 0x${s.mark.toString(16)}${s.mask !== 0xffffffff ? `/0x${s.mask.toString(16)}` : ''}${filterTail(s)}`];
  return [`${head} handle 0x1${filterTail(s)}`];
}

/** A filter's classid as tc prints it (print_tc_classid): a major of 0 as `:minor`. */
function formatClassid(id: number): string {
  return id >>> 16 === 0 ? `:${(id & 0xffff).toString(16)}` : formatHandle(id);
}

const hex8 = (n: number) => n.toString(16).padStart(8, '0');
const tableName = (fh: number) => `${u32Parts(fh).table.toString(16)}:`;

/** One priority's u32 hash tables and nodes in the order cls_u32's walk visits them: each table (the newest first, the root last), then its nodes by handle. */
function u32Walk(group: TcFilter[]): ({ table: number; divisor: number } | { node: TcFilter })[] {
  const tables = group.filter((f) => f.spec.kind === 'u32' && f.spec.divisor !== undefined).reverse();
  const out: ({ table: number; divisor: number } | { node: TcFilter })[] = [];
  for (const t of [...tables.map((f) => ({ table: f.u32!.fh >>> 20, divisor: (f.spec as { divisor: number }).divisor })), { table: group[0].u32!.root, divisor: 1 }]) {
    out.push(t);
    const nodes = group.filter((f) => f.spec.kind === 'u32' && f.spec.divisor === undefined && f.u32!.fh >>> 20 === t.table);
    for (const node of nodes.sort((x, y) => x.u32!.fh - y.u32!.fh)) out.push({ node });
  }
  return out;
}

/** One priority's u32 filters as tc lists them: a header line, then the walk. */
function u32Lines(group: TcFilter[], head: string): string[] {
  return [`${head} `, ...u32Walk(group).flatMap((e) => ('table' in e ? [`${head} fh ${e.table.toString(16)}: ht divisor ${e.divisor} `] : u32NodeLines(e.node, head)))];
}

/** A u32 handle's fields: 12-bit table, 8-bit bucket, 12-bit node. */
function u32Parts(fh: number): { table: number; bucket: number; node: number } {
  return { table: fh >>> 20, bucket: (fh >>> 12) & 0xff, node: fh & 0xfff };
}

/** A u32 node's handle as tc prints it: table:bucket:node, an empty bucket left out. */
function u32Name(fh: number): string {
  const { table, bucket, node } = u32Parts(fh);
  return `${table.toString(16)}:${bucket ? bucket.toString(16) : ''}:${node.toString(16)}`;
}

function u32NodeLines(f: TcFilter, head: string): string[] {
  const s = f.spec as Extract<FilterSpec, { kind: 'u32' }>;
  const fh = f.u32!.fh;
  // A filter with no action is not terminal: tc marks its flowid with a star.
  const flow = s.classid === undefined ? '' : ` ${s.police ? '' : '*'}flowid ${formatClassid(s.classid)}`;
  const link = s.link !== undefined ? ` link ${tableName(s.link)}` : '';
  const { table, bucket, node } = u32Parts(fh);
  return [
    `${head} fh ${u32Name(fh)} order ${node} key ht ${table.toString(16)} bkt ${bucket.toString(16)}${flow}${link}${policeText(s)} not_in_hw `,
    ...s.keys.map((k) => `  match ${hex8(k.value)}/${hex8(k.mask)} at ${k.nexthdr ? 'nexthdr+' : ''}${k.off}`),
    ...(s.hashkey ? [`    hash mask ${hex8(s.hashkey.mask)} at ${s.hashkey.off} `] : []),
  ];
}

/** tc -j's options of each entry of one priority's u32 walk (one match is an object, as tc prints it; several, a list). */
function u32Entries(group: TcFilter[]): object[] {
  return u32Walk(group).map((e) => {
    if ('table' in e) return { fh: `${e.table.toString(16)}:`, ht_divisor: e.divisor };
    const f = e.node;
    const s = f.spec as Extract<FilterSpec, { kind: 'u32' }>;
    const fh = f.u32!.fh;
    const { table, bucket, node } = u32Parts(fh);
    const matches = s.keys.map((k) => ({ value: k.value.toString(16), mask: k.mask.toString(16), offmask: '', off: k.off }));
    return {
      fh: u32Name(fh), order: node, key_ht: table.toString(16), bkt: bucket.toString(16),
      ...(s.classid !== undefined ? { flowid: formatClassid(s.classid) } : {}),
      ...(s.link !== undefined ? { link: tableName(s.link) } : {}),
      not_in_hw: true,
      ...(matches.length ? { match: matches.length === 1 ? matches[0] : matches } : {}),
    };
  });
}

function jsonStats(s: SlotStats, estimated: boolean): object {
  const rate = !estimated || s.rateBps === undefined ? {} : { rate: Math.round(s.rateBps / 8), pps: Math.round(s.pps ?? 0) }; // tc -j: bytes/s
  return { bytes: s.bytes, packets: s.packets, drops: s.drops, overlimits: s.overlimits, requeues: 0, ...rate, backlog: s.backlogBytes, qlen: s.backlogPackets };
}

/** tc -j prints rates in bytes/s and sizes in bytes. */
function jsonQdiscOptions(q: QdiscSpec, direct: number, device: DeviceFacts): object {
  switch (q.kind) {
    case 'htb':
      return { r2q: q.r2q, default: hexAlt(q.defaultClass), direct_packets_stat: direct, direct_qlen: htbDirectQlen(q, device) };
    case 'prio':
      return { bands: q.bands, priomap: q.priomap };
    case 'tbf':
      return { rate: q.rate / 8, burst: storedBurst(q.rate, q.burst), limit: q.limit };
    case 'pfifo':
      return { limit: pfifoLimit(q, device) };
    case 'bfifo':
      return { limit: bfifoLimit(q, device) };
    default:
      return {};
  }
}

function jsonClassOptions(spec: ClassSpec, leaf: boolean, device: DeviceFacts): object {
  switch (spec.kind) {
    case 'htb':
      const { burst, cburst } = htbBursts(spec);
      return { ...(leaf ? { prio: spec.prio } : {}), rate: spec.rate / 8, ceil: spec.ceil / 8, burst: storedBurst(spec.rate, burst), cburst: storedBurst(spec.ceil, cburst) };
    case 'drr':
      return { quantum: spec.quantum ?? 1514 };
    case 'qfq':
      return { weight: spec.weight ?? 1, maxpkt: qfqMaxpkt(spec, device) };
    default:
      return {};
  }
}
