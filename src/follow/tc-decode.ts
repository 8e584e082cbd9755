/**
 * A device's tc configuration as the kernel dumps it (netlink.ts) → the `tc` command
 * lines that build it, in an order tc accepts, for the kinds pspat implements: qdiscs htb,
 * tbf, pfifo, bfifo, prio, drr, qfq, sfq, fq_codel; their classes; filters u32 (keys in
 * every table, with hash keys and links), fw, matchall, basic, with a classid and a police action. Anything else
 * is said by name (`unsupported`), and the daemon gives the device back rather than
 * schedule part of its configuration.
 *
 * Lines, not model objects, so that what the kernel holds goes through the same parser
 * and planner as `pspat tc` (the same checks, the same defaults), and so a followed
 * device's configuration prints as the commands that rebuild it.
 */
import { classArgs, qdiscArgs } from '../tc/dump.js';
import { formatHandle, formatU32Handle, TC_H_ROOT } from '../tc/handles.js';
import { protocolName, type ClassSpec, type QdiscSpec } from '../tc/model.js';
import { TCA_KIND, TCA_OPTIONS, type TcMessage } from './netlink.js';
import { attrString, parseAttrs, ratespec, ticksToBytes, u32, u64, unsupported, UnsupportedConfig, type Attrs } from '../tc/netlink-attrs.js';
import { isQdiscKind, kindOf } from '../tc/kinds/index.js';
import { decodeStab, NO_STAB, stabWords } from '../tc/stab.js';

/** A device's configuration as command lines, each keyed by what it creates. */
export interface KernelConfig {
  /** The root qdisc's line. */
  root: string;
  /** Classes and inner qdiscs in creation order: key (`class 1:10`, `qdisc 10:`) → line. */
  items: Map<string, string>;
  /** Filter lines per parent qdisc (`1:`), in the kernel's order. */
  filters: Map<string, string[]>;
}

export type Decoded = KernelConfig | { unsupported: string } | null;

const nested = (a: Attrs): Attrs => parseAttrs(a.get(TCA_OPTIONS));
/** A qdisc's size table (tc's stab), beside its kind and options. */
const TCA_STAB = 8;

/** A qdisc's spec from its message: the kind's own decoding (kinds/). */
function qdiscSpec(kind: string, a: Attrs): QdiscSpec {
  if (!isQdiscKind(kind)) return unsupported(`qdisc ${kind}`);
  return kindOf(kind).decode(a.get(TCA_OPTIONS));
}

/** A class's spec from its message, by the kind of its qdisc; null for the classes a qdisc makes itself (prio's bands, tbf's class). */
function classSpec(kind: string, a: Attrs): ClassSpec | null {
  if (!isQdiscKind(kind)) return unsupported(`class ${kind}`);
  const k = kindOf(kind);
  if (k.classes) return k.classes.decode(nested(a));
  return k.fixedClasses ? null : unsupported(`class ${kind}`);
}

/** TC_ACT_* → tc's word for a policer's exceed action. */
const POLICE_ACTIONS: Record<number, string> = { 0: 'pass', 1: 'reclassify', 2: 'drop', 3: 'continue' };

/** A legacy police attribute (TCA_*_POLICE): TCA_POLICE_TBF's struct tc_police, RATE64, PEAKRATE64. */
function policeWords(v: DataView): string[] {
  const o = parseAttrs(v);
  const p = o.get(1);
  if (!p) return unsupported('a police action without its parameters');
  const action = POLICE_ACTIONS[p.getInt32(4, true)] ?? unsupported(`police action ${p.getInt32(4, true)}`);
  const rate = u64(o.get(8)) ?? ratespec(p, 20).rate;
  const peak = u64(o.get(9)) ?? ratespec(p, 32).rate;
  const mtu = p.getUint32(16, true);
  const words = ['police', 'rate', `${rate * 8}bit`, 'burst', String(ticksToBytes(p.getUint32(12, true), rate))];
  if (peak) words.push('peakrate', `${peak * 8}bit`);
  if (mtu) words.push('mtu', String(mtu));
  words.push('conform-exceed', action);
  return words;
}

/** A filter's actions (TCA_*_ACT): only a police action, as the legacy attribute would carry it. */
function actionWords(v: DataView | undefined): string[] {
  if (v === undefined) return [];
  const words: string[] = [];
  for (const act of parseAttrs(v).values()) {
    const a = parseAttrs(act);
    const kind = attrString(a.get(1)); // TCA_ACT_KIND
    if (kind !== 'police') unsupported(`action ${kind}`);
    words.push(...policeWords(a.get(2)!)); // TCA_ACT_OPTIONS
  }
  return words;
}

const hex = (n: number) => `0x${(n >>> 0).toString(16)}`;

/** Each u32 priority's root table, by `parent prio protocol`, and all of them. */
interface U32Roots {
  byKey: Map<string, number>;
  tables: Set<number>;
}

/** The u32 root tables: a priority's is the last table its dump lists, as cls_u32 walks its tables newest first. */
function u32Roots(filters: TcMessage[]): U32Roots {
  const byKey = new Map<string, number>();
  for (const m of filters) {
    if (attrString(m.attrs.get(TCA_KIND)) === 'u32' && nested(m.attrs).get(4) !== undefined) byKey.set(u32Key(m), m.handle >>> 20);
  }
  return { byKey, tables: new Set(byKey.values()) };
}

const u32Key = (m: TcMessage) => `${m.parent} ${m.prio} ${m.protocol}`;

/**
 * The words after `handle …` of a filter line: its kind and options; undefined for the
 * kernel's own entries (a priority's header and its root table). `roots`: u32Roots. A
 * u32 hash table the user made is `table: true`, so it is written before the nodes that
 * go in it or link to it, whichever priority they are in.
 */
function filterWords(m: TcMessage, kind: string, roots: U32Roots): { handle?: string; words: string[]; table?: true } | undefined {
  const o = nested(m.attrs);
  if (!m.attrs.get(TCA_OPTIONS)) return undefined; // a priority's header, before its nodes
  switch (kind) {
    case 'u32': {
      const table = m.handle >>> 20;
      const divisor = u32(o.get(4)); // TCA_U32_DIVISOR: a hash table
      if (divisor !== undefined) {
        if (table === roots.byKey.get(u32Key(m))) return undefined; // the priority's own, which tc makes with it
        return { handle: `${table.toString(16)}:`, words: ['u32', 'divisor', String(divisor)], table: true };
      }
      const words = ['u32'];
      const own = table === roots.byKey.get(u32Key(m));
      // A node in a table the user made goes back there: its table and bucket, as its handle says.
      if (!own && roots.tables.has(table)) unsupported("u32 nodes in another priority's root table");
      if (!own) words.push('ht', `${table.toString(16)}:${((m.handle >>> 12) & 0xff).toString(16)}`);
      const link = u32(o.get(3)); // TCA_U32_LINK
      if (link !== undefined) {
        if (roots.tables.has(link >>> 20)) unsupported("u32 links to a priority's root table");
        words.push('link', `${(link >>> 20).toString(16)}:`);
      }
      const sel = o.get(5); // tc_u32_sel: flags, offshift, nkeys, (pad), offmask, off, offoff, hoff, hmask; keys
      if (sel) {
        if (sel.getUint8(0) & ~0x1) unsupported('u32 variable offsets'); // TC_U32_TERMINAL only
        for (let k = 0, at = 16; k < sel.getUint8(2); k++, at += 16) {
          const mask = sel.getUint32(at, false);
          const value = sel.getUint32(at + 4, false);
          const off = sel.getInt32(at + 8, true);
          const nexthdr = sel.getInt32(at + 12, true) !== 0;
          words.push('match', 'u32', hex(value), hex(mask), 'at', nexthdr ? `nexthdr+${off}` : String(off));
        }
        const hmask = sel.getUint32(12, false);
        if (hmask !== 0) words.push('hashkey', 'mask', hex(hmask), 'at', String(sel.getInt16(10, true)));
      }
      const mark = o.get(10); // tc_u32_mark: val, mask
      if (mark) words.push('match', 'mark', hex(mark.getUint32(0, true)), hex(mark.getUint32(4, true)));
      const classid = u32(o.get(1));
      if (classid !== undefined) words.push('flowid', formatHandle(classid));
      if (o.get(6)) words.push(...policeWords(o.get(6)!));
      words.push(...actionWords(o.get(7)));
      if (o.get(8)) unsupported('u32 indev');
      // pspat numbers a priority's root tables as tc's first one does: keep a node's handle
      // in 800: and in the user's tables, let pspat number the others' nodes.
      return own && table !== 0x800 ? { words } : { handle: formatU32Handle(m.handle), words };
    }
    case 'fw': {
      // TCA_FW_CLASSID 1, POLICE 2, INDEV 3, ACT 4, MASK 5
      const mask = u32(o.get(5)) ?? 0xffffffff;
      const words = ['fw'];
      const classid = u32(o.get(1));
      if (classid !== undefined) words.push('classid', formatHandle(classid));
      if (o.get(2)) words.push(...policeWords(o.get(2)!));
      if (o.get(3)) unsupported('fw indev');
      words.push(...actionWords(o.get(4)));
      return { handle: `${hex(m.handle)}/${hex(mask)}`, words };
    }
    case 'matchall':
    case 'basic': {
      // matchall: CLASSID 1, ACT 2, FLAGS 3; basic: CLASSID 1, EMATCHES 2, ACT 3, POLICE 4.
      const words: string[] = [kind];
      const classid = u32(o.get(1));
      if (classid !== undefined) words.push('classid', formatHandle(classid));
      if (kind === 'basic' && o.get(2)) unsupported('basic ematches');
      if (kind === 'basic' && o.get(4)) words.push(...policeWords(o.get(4)!));
      words.push(...actionWords(o.get(kind === 'basic' ? 3 : 2)));
      return { words };
    }
    default:
      return unsupported(`filter ${kind}`);
  }
}

/** Whether pspat models the classes of qdisc kind `kind` (the others' are internal: sfq's and fq_codel's flows). */
function hasClasses(kind: string | undefined): boolean {
  if (kind === undefined || !isQdiscKind(kind)) return false;
  const k = kindOf(kind);
  return k.classes !== undefined || k.fixedClasses !== undefined;
}

/** The kernel's parent of a device's ingress and clsact qdiscs: not part of its egress scheduling (pspat's own diversion lives there). */
const TC_H_INGRESS = 0xfffffff1;

/** The qdiscs that schedule egress: not the kernel's default ones (handle 0), not ingress or clsact. Their filters are what a device's dump needs. */
export function egressQdiscs(qdiscs: TcMessage[]): TcMessage[] {
  return qdiscs.filter((q) => q.parent !== TC_H_INGRESS && q.handle !== 0);
}

/**
 * `dev`'s configuration from its dumped qdiscs, classes and filters (each filter dump
 * per qdisc handle); null when its root qdisc is the kernel's default (handle 0: nothing
 * configured), `unsupported` naming the first thing pspat does not implement.
 */
export function decodeDevice(dev: string, qdiscs: TcMessage[], classes: TcMessage[], filters: TcMessage[]): Decoded {
  const root = qdiscs.find((q) => q.parent === TC_H_ROOT);
  if (!root || root.handle === 0) return null;
  try {
    const kindOf = (m: TcMessage) => attrString(m.attrs.get(TCA_KIND)) ?? unsupported('a message without a kind');
    const rootKind = kindOf(root);
    const config: KernelConfig = {
      root: [
        `qdisc add dev ${dev} root handle ${formatHandle(root.handle)}`,
        ...stabWords(decodeStab(root.attrs, TCA_STAB) ?? NO_STAB),
        qdiscArgs(qdiscSpec(rootKind, root.attrs)),
      ].join(' '),
      items: new Map(),
      filters: new Map(),
    };
    const inner = egressQdiscs(qdiscs).filter((q) => q !== root);
    const known = new Set([root.handle]);
    // A class at the top of its qdisc says TC_H_ROOT as its parent: the qdisc is meant.
    const classParent = (m: TcMessage) => (m.parent === TC_H_ROOT ? (m.handle & 0xffff0000) >>> 0 : m.parent);
    // sfq's and fq_codel's flows are the qdisc's own business; prio's bands and tbf's class are known, but made with their qdisc.
    const kinds = new Map(qdiscs.map((q) => [q.handle, attrString(q.attrs.get(TCA_KIND))]));
    const own = classes.filter((c) => hasClasses(kinds.get((c.handle & 0xffff0000) >>> 0)));
    const pending = [...own.map((m) => ({ m, parent: classParent(m), isClass: true })), ...inner.map((m) => ({ m, parent: m.parent, isClass: false }))];
    // Parents first: a class once its parent (its qdisc, or a class) exists, a qdisc once its class does.
    for (let progress = true; progress && pending.length > 0; ) {
      progress = false;
      for (let i = 0; i < pending.length; i++) {
        const { m, parent, isClass } = pending[i];
        if (!known.has(parent)) continue;
        const kind = kindOf(m);
        if (isClass) {
          const spec = classSpec(kind, m.attrs);
          if (spec !== null)
            config.items.set(
              `class ${formatHandle(m.handle)}`,
              `class add dev ${dev} parent ${formatHandle(parent)} classid ${formatHandle(m.handle)} ${classArgs(spec)}`,
            );
        } else {
          config.items.set(
            `qdisc ${formatHandle(m.handle)}`,
            `qdisc add dev ${dev} parent ${formatHandle(m.parent)} handle ${formatHandle(m.handle)} ${qdiscArgs(qdiscSpec(kind, m.attrs))}`,
          );
        }
        known.add(m.handle);
        pending.splice(i--, 1);
        progress = true;
      }
    }
    if (pending.length > 0) return { unsupported: `${pending.length} classes or qdiscs whose parents are not in the dump` };
    const roots = u32Roots(filters);
    // Per parent: its u32 hash tables first (a node may name any of them), then the rest in the kernel's order.
    const tables = new Map<string, string[]>();
    for (const f of filters) {
      const kind = attrString(f.attrs.get(TCA_KIND));
      if (kind === undefined) continue;
      const w = filterWords(f, kind, roots);
      if (w === undefined) continue;
      const parent = formatHandle(f.parent);
      const handle = w.handle !== undefined ? ` handle ${w.handle}` : '';
      const into = w.table ? tables : config.filters;
      const lines = into.get(parent) ?? [];
      lines.push(`filter add dev ${dev} parent ${parent} protocol ${protocolName(f.protocol)} prio ${f.prio}${handle} ${w.words.join(' ')}`);
      into.set(parent, lines);
    }
    for (const [parent, lines] of tables) config.filters.set(parent, [...lines, ...(config.filters.get(parent) ?? [])]);
    return config;
  } catch (e) {
    if (e instanceof UnsupportedConfig) return { unsupported: e.message };
    throw e;
  }
}
