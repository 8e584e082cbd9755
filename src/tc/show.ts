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
import { stabJson, stabLine, type SizeSpec } from './stab.js';
import { formatHandle, TC_H_ROOT } from './handles.js';
import { hashOrder } from './class-hash.js';
import { ETH_P, protocolName, type ClassSpec, type FilterSpec, type QdiscSpec, type TcFlags, type U32Key } from './model.js';
import { formatRate, formatSize } from './format.js';
import { classKindOf, kindOf } from './kinds/index.js';
import type { ClassPlace } from './kinds/kind.js';
import { htbQuantum, rootDirectSlot, type TcClass, type TcFilter, type TcTree } from './tree.js';

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

/** What a class's show needs of its place in the tree. */
function placeOf(tree: TcTree, c: TcClass): ClassPlace {
  return {
    leaf: isLeaf(tree, c),
    device: tree.device,
    level: () => htbLevel(tree, c),
    quantum: () => htbQuantum(tree, c, c.spec as Extract<ClassSpec, { kind: 'htb' }>).quantum,
  };
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
  const direct = rootDirectSlot(tree);
  if (direct !== undefined) slots.push(direct);
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
  const directSlot = rootDirectSlot(tree);
  const direct = directSlot !== undefined ? (stats.get(directSlot)?.packets ?? 0) : 0;
  const entries: { handle: number; parent: number | 'root'; q: QdiscSpec; s: SlotStats; direct: number; estimated: boolean; stab?: SizeSpec }[] = [
    { handle: tree.root.handle, parent: 'root', q: tree.root.qdisc, s: rootStats, direct, estimated: tree.root.estimator !== undefined, stab: tree.root.stab },
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
      options: kindOf(e.q.kind).json(e.q, tree.device, e.direct, flags.details),
      ...(flags.details && e.stab ? { stab: stabJson(e.stab) } : {}),
      ...(flags.stats ? jsonStats(e.s, e.estimated) : {}),
    }));
  }
  const lines: string[] = [];
  for (const e of entries) {
    const where = e.parent === 'root' ? `root refcnt ${refcnt}` : `parent ${formatHandle(e.parent)}`;
    const kind = kindOf(e.q.kind);
    const options = kind.show(e.q, tree.device, flags.details, e.direct);
    const end = kind.bareEnd ? '' : ' ';
    lines.push(`qdisc ${e.q.kind} ${formatHandle(e.handle)} ${withDev ? `dev ${tree.dev} ` : ''}${where}${options ? ` ${options}` : ''}${end}`);
    if (flags.details && e.stab) lines.push(stabLine(e.stab));
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
      class: c.spec.kind,
      handle: formatHandle(c.classid),
      ...(classWhere(c) === 'root' ? { root: true } : { parent: formatHandle(c.parent) }),
      ...(c.leaf ? { leaf: formatHandle(c.leaf.handle) } : {}),
      ...classKindOf(c.spec)?.json(c.spec, placeOf(tree, c)),
      ...(flags.stats ? jsonStats(statsOf(tree, stats, c, inner), c.estimator !== undefined) : {}),
    }));
  }
  const lines: string[] = [];
  for (const c of list) {
    const where = classWhere(c);
    const leaf = c.leaf ? ` leaf ${formatHandle(c.leaf.handle)}` : '';
    const options = classKindOf(c.spec)?.show(c.spec, placeOf(tree, c), flags.details) ?? '';
    lines.push(`class ${c.spec.kind} ${formatHandle(c.classid)} ${where}${leaf} ${options ? `${options} ` : ''}`);
    if (!flags.stats) continue;
    const s = statsOf(tree, stats, c, inner);
    lines.push(...statsLines(s, c.estimator !== undefined));
    lines.push(...(classKindOf(c.spec)?.statsLines?.(c.spec, s) ?? []));
    // tc ends every class's block of statistics with a blank line, the last one's too.
    lines.push('');
  }
  return lines.join('\n');
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
    .filter(
      (f) => f.parent === on && (select.prio === undefined || f.prio === select.prio) && (select.protocol === undefined || f.protocol === select.protocol),
    )
    .sort((x, y) => x.prio - y.prio);
  const u32s = tree.filters.filter((f) => f.parent === on && f.u32);
  if (flags.json) {
    const base = (f: TcFilter) => ({ parent: formatHandle(f.parent), protocol: protocolName(f.protocol), pref: f.prio, kind: f.spec.kind, chain: 0 });
    return listings(sorted).flatMap((l) => {
      const f = l[0];
      if (!f.u32) return [{ ...base(f), ...(f.handle ? { options: { fh: f.handle } } : {}) }];
      return [base(f), ...u32Entries(l, u32s).map((options) => ({ ...base(f), options }))];
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
    lines.push(...(f.u32 ? u32Lines(l, u32s, head, flags.pretty) : filterLines(f, head)));
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

/**
 * One priority's u32 hash tables and nodes in the order cls_u32's walk visits them: each
 * table it made (the newest first, its root last), then the table's nodes by handle —
 * whichever priority added them (`all`: every u32 filter of the qdisc), as the tables are
 * the qdisc's.
 */
function u32Walk(group: TcFilter[], all: readonly TcFilter[]): ({ table: number; divisor: number } | { node: TcFilter })[] {
  const tables = group.filter((f) => f.spec.kind === 'u32' && f.spec.divisor !== undefined).reverse();
  const out: ({ table: number; divisor: number } | { node: TcFilter })[] = [];
  for (const t of [
    ...tables.map((f) => ({ table: f.u32!.fh >>> 20, divisor: (f.spec as { divisor: number }).divisor })),
    { table: group[0].u32!.root, divisor: 1 },
  ]) {
    out.push(t);
    const nodes = all.filter((f) => f.spec.kind === 'u32' && f.spec.divisor === undefined && f.u32!.fh >>> 20 === t.table);
    for (const node of nodes.sort((x, y) => x.u32!.fh - y.u32!.fh)) out.push({ node });
  }
  return out;
}

/** One priority's u32 filters as tc lists them: a header line, then the walk (`pretty`: -p). */
function u32Lines(group: TcFilter[], all: readonly TcFilter[], head: string, pretty: boolean): string[] {
  return [
    `${head} `,
    ...u32Walk(group, all).flatMap((e) =>
      'table' in e ? [`${head} fh ${e.table.toString(16)}: ht divisor ${e.divisor} `] : u32NodeLines(e.node, head, pretty),
    ),
  ];
}

/** A key as tc prints it without -p: value/mask at its offset. */
function rawKey(k: U32Key): string {
  return `  match ${hex8(k.value)}/${hex8(k.mask)} at ${k.nexthdr ? 'nexthdr+' : ''}${k.off}`;
}

/** The prefix length of a mask whose ones are all at the top (0 for none), else -1 (tc's mask2bits). */
function maskBits(mask: number): number {
  const m = mask >>> 0;
  if (m === 0) return 0;
  const bits = Math.clz32(~m >>> 0); // its leading ones
  return (0xffffffff << (32 - bits)) >>> 0 === m ? bits : -1;
}

/**
 * A key as `-p` prints it for an IPv4 or IPv6 filter (tc's print_ipv4 and print_ipv6, one
 * reading of IPv4 header offsets for both): fields it knows by offset and mask, nothing
 * for the others — tc prints those keys not at all. The two ports in one word come low
 * half first, named dport for IPv4 and sport for IPv6, as tc has them.
 */
function prettyKey(k: U32Key, ipv6: boolean): string[] {
  const v = k.value >>> 0;
  const m = k.mask >>> 0;
  if (k.off === 0 && m === 0x0f000000) return [`  match IP ihl ${v >>> 24}`];
  if (k.off === 0 && m === 0x00ff0000) return [`  match IP dsfield 0x${(v >>> 16).toString(16)}`];
  if (k.off === 8 && m === 0x00ff0000) return [`  match IP protocol ${v >>> 16}`];
  if ((k.off === 12 || k.off === 16) && maskBits(m) >= 0) {
    const addr = [v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff].join('.');
    return [`  match IP ${k.off === 12 ? 'src' : 'dst'} ${addr}/${maskBits(m)}`];
  }
  if (k.off === 20 && m === 0x0000ffff) return [`  match dport ${v & 0xffff}`];
  if (k.off === 20 && m === 0xffff0000) return [`  match sport ${v >>> 16}`];
  if (k.off === 20 && m === 0xffffffff) {
    const [low, high] = ipv6 ? ['sport', 'dport'] : ['dport', 'sport'];
    return [`  match ${low} ${v & 0xffff}, match ${high} ${v >>> 16}`];
  }
  return [];
}

/** A node's keys: raw, or with -p as tc's pretty printer for the filter's protocol has them (raw for protocols it has none for). */
function keyLines(f: TcFilter, keys: U32Key[], pretty: boolean): string[] {
  const ip = f.protocol === ETH_P.ip || f.protocol === ETH_P.ipv6;
  return pretty && ip ? keys.flatMap((k) => prettyKey(k, f.protocol === ETH_P.ipv6)) : keys.map(rawKey);
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

function u32NodeLines(f: TcFilter, head: string, pretty: boolean): string[] {
  const s = f.spec as Extract<FilterSpec, { kind: 'u32' }>;
  const fh = f.u32!.fh;
  // A filter with no action is not terminal: tc marks its flowid with a star.
  const flow = s.classid === undefined ? '' : ` ${s.police ? '' : '*'}flowid ${formatClassid(s.classid)}`;
  const link = s.link !== undefined ? ` link ${tableName(s.link)}` : '';
  const { table, bucket, node } = u32Parts(fh);
  return [
    `${head} fh ${u32Name(fh)} order ${node} key ht ${table.toString(16)} bkt ${bucket.toString(16)}${flow}${link}${policeText(s)} not_in_hw `,
    ...keyLines(f, s.keys, pretty),
    ...(s.hashkey ? [`    hash mask ${hex8(s.hashkey.mask)} at ${s.hashkey.off} `] : []),
  ];
}

/** tc -j's options of each entry of one priority's u32 walk (one match is an object, as tc prints it; several, a list). */
function u32Entries(group: TcFilter[], all: readonly TcFilter[]): object[] {
  return u32Walk(group, all).map((e) => {
    if ('table' in e) return { fh: `${e.table.toString(16)}:`, ht_divisor: e.divisor };
    const f = e.node;
    const s = f.spec as Extract<FilterSpec, { kind: 'u32' }>;
    const fh = f.u32!.fh;
    const { table, bucket, node } = u32Parts(fh);
    const matches = s.keys.map((k) => ({ value: k.value.toString(16), mask: k.mask.toString(16), offmask: '', off: k.off }));
    return {
      fh: u32Name(fh),
      order: node,
      key_ht: table.toString(16),
      bkt: bucket.toString(16),
      ...(s.classid !== undefined ? { flowid: formatClassid(s.classid) } : {}),
      ...(s.link !== undefined ? { link: tableName(s.link) } : {}),
      not_in_hw: true,
      ...(matches.length ? { match: matches.length === 1 ? matches[0] : matches } : {}),
    };
  });
}

function jsonStats(s: SlotStats, estimated: boolean): object {
  const rate = !estimated || s.rateBps === undefined ? {} : { rate: Math.round(s.rateBps / 8), pps: Math.round(s.pps ?? 0) }; // tc -j: bytes/s
  return {
    bytes: s.bytes,
    packets: s.packets,
    drops: s.drops,
    overlimits: s.overlimits,
    requeues: 0,
    ...rate,
    backlog: s.backlogBytes,
    qlen: s.backlogPackets,
  };
}
