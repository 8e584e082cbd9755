/**
 * The qdisc tree of one managed device, as the kernel keeps it, and what it means for the
 * pspat link underneath: `apply` checks a tc command against the tree (refusing what the
 * kernel refuses, exit 2) and returns the new tree without touching the old one, so a
 * refused command — here, or later by the scheduler in the arbiter — changes nothing.
 * `linkConfig` derives the link's scheduler and class slots from a tree; the daemon
 * diffs two of them into link operations (config-diff.ts).
 *
 * How tc's qdiscs map onto pspat's schedulers (each kind's `scheduler`, `queue` and
 * `fixedClasses` in kinds/ say it; the tree answers their questions through a KindTree):
 *   root htb   → htb; each class a slot (parent, rate, ceil, burst, cburst, prio, quantum,
 *                mpu); a pfifo/bfifo leaf sets the class's queue limit. Unclassified
 *                packets go to class `default`, or, with no default, to htb's direct
 *                queue: here a top-level class at the link's rate, prio 0.
 *   root drr / qfq → drr / qfq with the classes' quantum / weight and maxpkt; unclassified
 *                packets are dropped, as the kernel's drr and qfq do.
 *   root prio  → prio with its bands as classes :1…:N (band i−1), unclassified packets by
 *                the priomap of their TOS-derived priority.
 *   root tbf   → htb with one class at the tbf's rate and burst, its byte limit as queue limit.
 *   root pfifo / bfifo → fifo with the limit.
 *   root sfq / fq_codel → sfq / fq_codel (flows by the hash the client stamps), one class.
 *   leaf sfq / fq_codel on a class → the class's leaf discipline (ClassParams.leaf).
 */
import { TcError, TC_EXIT_REJECTED } from './errors.js';
import { formatHandle, major, makeHandle, minor, TC_H_ROOT } from './handles.js';
import type { ClassCommand, ClassSpec, FilterCommand, QdiscCommand, QdiscSpec } from './model.js';
import type { InstalledFilter } from './classifier.js';
import type { ClassParams } from '../../schedulers/types.js';
import { DEFAULT_LIMIT_PACKETS } from '../../schedulers/class-queues.js';
import { changedQdisc, classKindOf, kindOf } from './kinds/index.js';
import type { KindScheduler, KindTree } from './kinds/kind.js';
import { htbDefaultQuantum, MAX_DEFAULT_QUANTUM, MIN_DEFAULT_QUANTUM } from '../../schedulers/htb.js';
import type { DeviceFacts } from '../net/device.js';
import { EMPTY_CLASS_HASH, hashInsert, hashRemove, type ClassHash } from './class-hash.js';
import { placeU32, u32HandleOf } from './u32-handles.js';
import { chargesDifferently, sizeTableParams, type SizeSpec } from './stab.js';

export interface TcClass {
  classid: number;
  /** A class id, or its qdisc's handle for a top-level class. */
  parent: number;
  /** The qdisc the class belongs to: the root, or an inner qdisc attached to a root class. */
  owner: number;
  spec: ClassSpec;
  /** Slot in its qdisc's scheduler (root classes: the link's; inner ones: the inner scheduler's). */
  slot: number;
  leaf?: { handle: number; qdisc: QdiscSpec };
  /** The `estimator` asked for, as written: `-s` shows the class's rate. */
  estimator?: [string, string];
}

export interface TcFilter extends InstalledFilter {
  /** As written after `handle` (fw's mark, u32's node), for show and delete. */
  handle?: string;
  /** The words from the kind on, as written, for a config dump. */
  args: string[];
  /**
   * u32 only: the handle the kernel gives it (u32-handles.ts) — a node's `ht:bucket:node`,
   * or a hash table's `ht:` — and the root table of its priority, which `show` lists.
   */
  u32?: { fh: number; root: number };
}

export interface TcTree {
  dev: string;
  /** The link's rate, bit/s (the htb direct queue is shaped to it). */
  linkRate: number;
  maxClasses: number;
  root: { handle: number; qdisc: QdiscSpec; estimator?: [string, string]; stab?: SizeSpec };
  classes: ReadonlyMap<number, TcClass>;
  filters: readonly TcFilter[];
  /** The device's queues, txqueuelen and MTU when it was taken over: the defaults the kernel takes from it. */
  device: DeviceFacts;
  /** Per classful qdisc (by handle): its class hash, which orders `class show` as the kernel's does. */
  classHashes: ReadonlyMap<number, ClassHash>;
  /** Per qdisc with u32 filters: the next root table id the kernel hands a new priority (u32-handles.ts). */
  u32NextTable: ReadonlyMap<number, number>;
}

/** What the link underneath runs: the root qdisc's scheduler (kind.ts KindScheduler), and its classes' slots. */
export interface LinkConfig extends KindScheduler {
  /** classid → slot, for the classifier's results (the root qdisc's classes). */
  slotOf: Map<number, number>;
}

/** Default auto-assigned filter preference, as the kernel picks for the first filter. */
export const AUTO_PRIO = 49152;

/** True for the qdiscs that have classes of their own when attached to a class. */
export function isInnerClassful(q: QdiscSpec): boolean {
  return kindOf(q.kind).onClass === 'inner';
}

function rejected(message: string): TcError {
  return new TcError(TC_EXIT_REJECTED, message);
}

/** The classes the kernel makes with qdisc `q` (handle `handle`): prio's bands, tbf's class. */
function fixedClasses(handle: number, q: QdiscSpec): TcClass[] {
  return (kindOf(q.kind).fixedClasses?.(q) ?? []).map(({ minor, slot }) => ({
    classid: makeHandle(major(handle), minor),
    parent: handle,
    owner: handle,
    spec: { kind: q.kind } as ClassSpec,
    slot,
  }));
}

/** A new device tree from `qdisc add|replace ... root`. */
export function createTree(cmd: QdiscCommand, linkRate: number, maxClasses: number, device: DeviceFacts): TcTree {
  const q = cmd.qdisc!;
  const handle = cmd.handle ?? makeHandle(0x8001, 0); // the kernel's first auto handle
  const classes = new Map(fixedClasses(handle, q).map((c) => [c.classid, c] as const));
  return {
    dev: cmd.dev,
    linkRate,
    maxClasses,
    root: { handle, qdisc: q, ...(cmd.estimator ? { estimator: cmd.estimator } : {}), ...(cmd.stab ? { stab: cmd.stab } : {}) },
    classes,
    filters: [],
    device,
    classHashes: new Map(),
    u32NextTable: new Map(),
  };
}

/**
 * An htb class's quantum: as given, else its rate over its qdisc's r2q, clamped as
 * sch_htb clamps it — with the kernel's warning when it had to.
 */
export function htbQuantum(
  tree: TcTree,
  c: Pick<TcClass, 'owner' | 'classid'>,
  spec: Extract<ClassSpec, { kind: 'htb' }>,
): { quantum: number; warning?: string } {
  if (spec.quantum !== undefined) return { quantum: spec.quantum };
  const q = qdiscAt(tree, c.owner);
  const r2q = q?.kind === 'htb' ? q.r2q : 10;
  const quantum = htbDefaultQuantum(spec.rate, r2q);
  const raw = Math.floor(spec.rate / 8 / r2q);
  const size = raw > MAX_DEFAULT_QUANTUM ? 'big' : raw < MIN_DEFAULT_QUANTUM ? 'small' : null;
  if (size === null) return { quantum };
  return { quantum, warning: `Warning: sch_htb: quantum of class ${c.classid.toString(16).toUpperCase()} is ${size}. Consider r2q change.` };
}

/** `hashes` with class `classid` of qdisc `owner` added or (`add` false) removed. */
function rehashed(hashes: ReadonlyMap<number, ClassHash>, owner: number, classid: number, add: boolean): Map<number, ClassHash> {
  const h = hashes.get(owner) ?? EMPTY_CLASS_HASH;
  return new Map(hashes).set(owner, add ? hashInsert(h, classid) : hashRemove(h, classid));
}

/** The qdisc with handle `h`: the root, or an inner classful qdisc on a root class. */
function qdiscAt(tree: TcTree, h: number): QdiscSpec | undefined {
  if (h === tree.root.handle) return tree.root.qdisc;
  for (const c of tree.classes.values()) if (c.leaf?.handle === h) return c.leaf.qdisc;
  return undefined;
}

function freeSlot(tree: TcTree, owner: number): number {
  // A direct queue (htb's) holds the top slot of its range.
  const q = qdiscAt(tree, owner);
  const reserved = q && kindOf(q.kind).directQueue ? 1 : 0;
  const used = new Set([...tree.classes.values()].filter((c) => c.owner === owner).map((c) => c.slot));
  for (let s = 0; s < tree.maxClasses - reserved; s++) if (!used.has(s)) return s;
  throw rejected(
    `Error: pspat: no class slot left in qdisc ${formatHandle(owner)} on ${tree.dev} (max ${tree.maxClasses - reserved}; daemon option maxClasses)`,
  );
}

function childrenOf(tree: TcTree, classid: number): TcClass[] {
  return [...tree.classes.values()].filter((c) => c.parent === classid);
}

/** `classes` without the inner qdisc of class `c` (its classes), and `filters` without the ones on it. */
function withoutInner(tree: TcTree, c: TcClass, classes: Map<number, TcClass>): TcFilter[] {
  const inner = c.leaf?.handle;
  if (inner === undefined) return [...tree.filters];
  for (const x of [...classes.values()]) if (x.owner === inner) classes.delete(x.classid);
  return tree.filters.filter((f) => f.parent !== inner);
}

/** A class command applied to `tree`; returns the new tree. */
export function applyClass(tree: TcTree, cmd: ClassCommand): TcTree {
  const parentArg = cmd.parent === undefined || cmd.parent === TC_H_ROOT ? undefined : cmd.parent;
  const maj = major(cmd.classid) || (parentArg !== undefined ? major(parentArg) : major(tree.root.handle));
  const classid = makeHandle(maj, minor(cmd.classid));
  const owner = maj === major(tree.root.handle) ? tree.root.handle : makeHandle(maj, 0);
  const ownerQdisc = qdiscAt(tree, owner);
  const existing = tree.classes.get(classid);
  const classes = new Map(tree.classes);
  if (cmd.verb === 'delete') {
    if (!existing) throw rejected('Error: Specified class not found.');
    if (ownerQdisc && kindOf(ownerQdisc.kind).fixedClasses) throw rejected('Error: Specified class not found.');
    if (childrenOf(tree, classid).length > 0) throw rejected('Error: Class in use by another class.');
    if (tree.filters.some((f) => f.spec.classid === classid)) throw rejected('Error: Filter in use by the class, delete the filter first.');
    // Deleting a class destroys its qdisc, an inner one with its classes and filters.
    const filters = withoutInner(tree, existing, classes);
    classes.delete(classid);
    const classHashes = rehashed(tree.classHashes, owner, classid, false);
    if (existing.leaf) classHashes.delete(existing.leaf.handle);
    return { ...tree, classes, filters, classHashes };
  }
  const spec = cmd.cls!;
  if (!ownerQdisc || minor(classid) === 0) throw rejected("Error: Invalid class ID: its major must be a qdisc's and its minor non-zero.");
  const ownerKind = kindOf(ownerQdisc.kind);
  if (!ownerKind.classes) throw rejected(`Error: Qdisc "${ownerQdisc.kind}" ${ownerKind.fixedClasses ? 'has fixed classes' : 'is classless'}.`);
  if (spec.kind !== ownerQdisc.kind) throw rejected(`Error: Specified class kind "${spec.kind}" does not match the qdisc's ("${ownerQdisc.kind}").`);
  // sch_htb looks the parent class up and, finding none, makes the class a top-level one.
  const named = parentArg !== undefined && parentArg !== owner ? tree.classes.get(parentArg) : undefined;
  const parent = named && named.owner === owner ? named.classid : owner;
  if (parent !== owner && ownerQdisc.kind !== 'htb') throw rejected(`Error: ${ownerQdisc.kind} classes cannot have children.`);
  if (cmd.verb === 'add' && existing) throw rejected('RTNETLINK answers: File exists');
  if (cmd.verb === 'change' && !existing) throw rejected('RTNETLINK answers: No such file or directory');
  if (existing && parentArg !== undefined && parent !== existing.parent) throw rejected("Error: Cannot change the class's parent.");
  if (existing) {
    classes.set(classid, { ...existing, spec, ...(cmd.estimator ? { estimator: cmd.estimator } : {}) });
    return { ...tree, classes };
  }
  if (parent !== owner && tree.classes.get(parent)!.leaf)
    throw rejected(`Error: Class ${formatHandle(parent)} has a leaf qdisc: delete it before adding children.`);
  classes.set(classid, { classid, parent, owner, spec, slot: freeSlot(tree, owner), ...(cmd.estimator ? { estimator: cmd.estimator } : {}) });
  return { ...tree, classes, classHashes: rehashed(tree.classHashes, owner, classid, true) };
}

/** A qdisc command on a class (a leaf or inner qdisc), or on the root (change only; add/del root is the daemon's). */
export function applyQdisc(tree: TcTree, cmd: QdiscCommand): TcTree {
  if (cmd.parent === TC_H_ROOT) {
    const q = cmd.qdisc;
    if (!q || q.kind !== tree.root.qdisc.kind) throw rejected('Error: Specified qdisc kind does not match the existing one (use replace).');
    if (cmd.handle !== undefined && cmd.handle !== tree.root.handle) throw rejected('Error: Invalid handle.');
    // A change sets the size table the command gives, or none (the kernel's qdisc_change).
    const { stab: _, ...root } = tree.root;
    return {
      ...tree,
      root: {
        ...root,
        qdisc: changedQdisc(tree.root.qdisc, q, cmd.options ?? []),
        ...(cmd.estimator ? { estimator: cmd.estimator } : {}),
        ...(cmd.stab ? { stab: cmd.stab } : {}),
      },
    };
  }
  if (cmd.stab) throw rejected('Error: STAB not supported on a non root.');
  // Under a root tbf any minor (its handle `1:` too) names its one class.
  const toTbf = tree.root.qdisc.kind === 'tbf' && major(cmd.parent) === major(tree.root.handle);
  const cls = tree.classes.get(toTbf ? makeHandle(major(tree.root.handle), 1) : cmd.parent);
  if (!cls) throw rejected('Error: Failed to find specified qdisc');
  const classes = new Map(tree.classes);
  if (cmd.verb === 'delete') {
    if (!cls.leaf) throw rejected('Error: Cannot find specified qdisc on specified device.');
    const filters = withoutInner(tree, cls, classes);
    const { leaf: _, ...rest } = cls;
    classes.set(cls.classid, rest);
    const classHashes = new Map(tree.classHashes);
    classHashes.delete(cls.leaf.handle);
    return { ...tree, classes, filters, classHashes };
  }
  const q = cmd.qdisc!;
  const inner = isInnerClassful(q);
  if (inner && cls.owner !== tree.root.handle)
    throw rejected("Error: pspat: a classful qdisc inside an inner qdisc's class is not supported (one level of nesting is).");
  if (childrenOf(tree, cls.classid).length > 0) throw rejected('Error: Class is not a leaf: it has children.');
  if (cmd.verb === 'add' && cls.leaf) throw rejected('Error: Exclusivity flag on, cannot modify.');
  if (cmd.verb === 'change' && !cls.leaf) throw rejected('Error: Cannot find specified qdisc on specified device.');
  const handle = cmd.handle ?? cls.leaf?.handle ?? makeHandle(0x8001 + cls.slot, 0);
  const majors = [tree.root.handle, ...[...tree.classes.values()].filter((c) => c.leaf && c.classid !== cls.classid).map((c) => c.leaf!.handle)].map(major);
  if (majors.includes(major(handle))) throw rejected('Error: Exclusivity flag on, cannot modify.');
  // A new qdisc on the class replaces the old one, and whatever classes and filters it had.
  const keepInner = cls.leaf !== undefined && cls.leaf.handle === handle && cls.leaf.qdisc.kind === q.kind && q.kind !== 'prio';
  const filters = keepInner ? [...tree.filters] : withoutInner(tree, cls, classes);
  const classHashes = new Map(tree.classHashes);
  if (!keepInner && cls.leaf) classHashes.delete(cls.leaf.handle);
  const same = cls.leaf !== undefined && cls.leaf.handle === handle && cmd.verb !== 'add';
  classes.set(cls.classid, { ...cls, leaf: { handle, qdisc: same ? changedQdisc(cls.leaf!.qdisc, q, cmd.options ?? []) : q } });
  for (const c of fixedClasses(handle, q)) classes.set(c.classid, c);
  return { ...tree, classes, filters, classHashes };
}

export function applyFilter(tree: TcTree, cmd: FilterCommand): TcTree {
  const parent = cmd.parent === undefined || cmd.parent === TC_H_ROOT ? tree.root.handle : makeHandle(major(cmd.parent), 0);
  const at = qdiscAt(tree, parent);
  if (!at || (parent !== tree.root.handle && !isInnerClassful(at))) throw rejected("Error: Parent Qdisc doesn't exists.");
  // u32 names a filter by the handle the kernel gave it (800::800); the others as written.
  const named = (f: TcFilter) => cmd.handle === undefined || (f.u32 ? f.u32.fh === u32HandleOf(cmd.handle) : f.handle === cmd.handle);
  if (cmd.verb === 'delete') {
    const mine = (f: TcFilter) => f.parent === parent && (cmd.prio === undefined || f.prio === cmd.prio) && named(f);
    const keep = tree.filters.filter((f) => !mine(f));
    if (keep.length === tree.filters.length && cmd.prio !== undefined) throw rejected('Error: Filter with specified priority/protocol not found.');
    return { ...tree, filters: keep };
  }
  const spec = cmd.filter!;
  if (parent !== tree.root.handle && spec.police) throw rejected('Error: pspat: police on a filter of an inner qdisc is not supported yet.');
  const own = tree.filters.filter((f) => f.parent === parent);
  const prio = cmd.prio ?? (own.length ? Math.min(...own.map((f) => f.prio)) - 1 : AUTO_PRIO);
  if (own.some((f) => f.prio === prio && (f.spec.kind !== spec.kind || f.protocol !== cmd.protocol))) {
    throw rejected('Error: Filter kind and protocol must match the existing filters of this priority.');
  }
  // A filter may name a class that does not exist (yet), as the kernel allows: until it
  // does, what the filter matches goes where unclassified packets go (packet-classifier.ts).
  const base: TcFilter = {
    prio,
    protocol: cmd.protocol,
    parent,
    spec,
    args: cmd.args ?? [spec.kind],
    ...(cmd.handle !== undefined ? { handle: cmd.handle } : {}),
  };
  // change / replace: the filter with this prio and handle.
  const i = cmd.verb === 'add' ? -1 : tree.filters.findIndex((f) => f.parent === parent && f.prio === prio && cmd.handle !== undefined && named(f));
  if (i < 0) {
    if (cmd.verb === 'change') throw rejected('Error: Filter with specified priority/protocol not found.');
    if (spec.kind !== 'u32') return { ...tree, filters: [...tree.filters, base] };
    const { u32, next } = placeU32(tree, base);
    return { ...tree, filters: [...tree.filters, { ...base, u32 }], u32NextTable: new Map(tree.u32NextTable).set(parent, next) };
  }
  const old = tree.filters[i];
  return { ...tree, filters: tree.filters.map((f, k) => (k === i ? { ...base, ...(old.u32 ? { u32: old.u32 } : {}) } : f)) };
}

/** The kernel's TOS → priority map (rt_tos2priority) for prio's priomap. */
const TOS_PRIORITY = [0, 0, 0, 0, 2, 2, 2, 2, 6, 6, 6, 6, 4, 4, 4, 4];

/** Priority (0..15) of an IPv4 packet with TOS byte `tos`, as the kernel derives skb->priority. */
export function tosPriority(tos: number): number {
  return TOS_PRIORITY[(tos >> 1) & 0xf];
}

/** What the tree around a qdisc is to its kind's scheduler (kind.ts KindTree). */
function kindTree(tree: TcTree): KindTree {
  return {
    device: tree.device,
    linkRate: tree.linkRate,
    directSlot: directSlotOf(tree),
    classesOf: (handle) =>
      [...tree.classes.values()].filter((c) => c.owner === handle).map((c) => ({ classid: c.classid, slot: c.slot, params: classParams(tree, c) })),
    attachedQueue: (classid) => {
      const c = tree.classes.get(classid);
      return c?.leaf ? attachedQueue(tree, c.leaf) : undefined;
    },
  };
}

/** The scheduler of qdisc `q` with handle `handle` in `tree`: the root's, or an inner one's. */
export function qdiscScheduler(tree: TcTree, handle: number, q: QdiscSpec): KindScheduler {
  return kindOf(q.kind).scheduler(q, kindTree(tree), handle);
}

/**
 * The queue of class `c` from the qdisc attached to it: a queue kind's limits or
 * discipline, or an inner classful qdisc as the class's leaf scheduler with its classes.
 */
function attachedQueue(tree: TcTree, { handle, qdisc }: NonNullable<TcClass['leaf']>): ClassParams {
  const kind = kindOf(qdisc.kind);
  if (kind.queue) return kind.queue(qdisc, tree.device);
  const s = qdiscScheduler(tree, handle, qdisc);
  return {
    limitPackets: DEFAULT_LIMIT_PACKETS,
    leaf: { kind: s.scheduler, params: s.rootParams, classes: [...s.classes].map(([slot, p]) => ({ slot, ...p })) },
  };
}

/**
 * A class's queue: from what is attached to it, or tc's default pfifo of txqueuelen
 * packets. Always stated, so removing a leaf resets the limit (config-diff.ts adds
 * `leaf: null` when a discipline goes).
 * TODO(issue 5): a byte limit cannot be lifted again once set (ClassParams has no "none").
 */
function leafLimits(tree: TcTree, c: TcClass): ClassParams {
  return c.leaf ? attachedQueue(tree, c.leaf) : { limitPackets: tree.device.txQueueLen || 1 };
}

/** The scheduler parameters of a class (of the root qdisc or an inner one), its queue included. */
function classParams(tree: TcTree, c: TcClass): ClassParams {
  const parentSlot = c.parent !== c.owner ? tree.classes.get(c.parent)!.slot : undefined;
  // The classes a qdisc makes itself (prio's bands, tbf's class) have no parameters of their own.
  const own = classKindOf(c.spec)?.params(c.spec, { device: tree.device, parentSlot }) ?? {};
  return { ...own, ...leafLimits(tree, c) };
}

/** Where a direct queue (Kind.directQueue: htb's, for unclassified packets with no default class) sits: the top slot. */
function directSlotOf(tree: TcTree): number {
  return tree.maxClasses - 1;
}

/** The slot of the root qdisc's direct queue (Kind.directQueue); undefined when it has none. */
export function rootDirectSlot(tree: TcTree): number | undefined {
  return kindOf(tree.root.qdisc.kind).directQueue ? directSlotOf(tree) : undefined;
}

export function linkConfig(tree: TcTree): LinkConfig {
  const slotOf = new Map<number, number>();
  for (const c of tree.classes.values()) if (c.owner === tree.root.handle) slotOf.set(c.classid, c.slot);
  const s = qdiscScheduler(tree, tree.root.handle, tree.root.qdisc);
  // The root's size table charges every packet, whatever the scheduler (RootParams.sizeTable).
  const stab = tree.root.stab;
  const rootParams = stab && chargesDifferently(stab) ? { ...s.rootParams, sizeTable: sizeTableParams(stab) } : s.rootParams;
  return { ...s, rootParams, slotOf };
}
