/**
 * The qdisc tree of one managed device, as the kernel keeps it, and what it means for the
 * pspat link underneath: `apply` checks a tc command against the tree (refusing what the
 * kernel refuses, exit 2) and returns the new tree without touching the old one, so a
 * refused command — here, or later by the scheduler in the arbiter — changes nothing.
 * `linkConfig` derives the link's scheduler and class slots from a tree; the daemon
 * diffs two of them into link operations (config-diff.ts).
 *
 * How tc's qdiscs map onto pspat's schedulers:
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
import type { ClassParams, RootParams } from '../../schedulers/types.js';
import { DEFAULT_LIMIT_PACKETS, MAX_LIMIT } from '../../schedulers/class-queues.js';

export interface TcClass {
  classid: number;
  /** A class id, or the root qdisc's handle for a top-level class. */
  parent: number;
  spec: ClassSpec;
  slot: number;
  leaf?: { handle: number; qdisc: QdiscSpec };
}

export interface TcFilter extends InstalledFilter {
  /** As written after `handle` (fw's mark, u32's node), for show and delete. */
  handle?: string;
  /** The words from the kind on, as written, for a config dump. */
  args: string[];
}

export interface TcTree {
  dev: string;
  /** The link's rate, bit/s (the htb direct queue is shaped to it). */
  linkRate: number;
  maxClasses: number;
  root: { handle: number; qdisc: QdiscSpec };
  classes: ReadonlyMap<number, TcClass>;
  filters: readonly TcFilter[];
}

/** What the link underneath runs: a scheduler and its classes by slot. */
export interface LinkConfig {
  scheduler: string;
  rootParams: RootParams;
  classes: Map<number, ClassParams>;
  /** Slot of a packet no filter classified; -1 drops it (reason: no class). */
  unclassifiedSlot: number;
  /** prio: slot per TOS-derived priority 0..15, used instead of `unclassifiedSlot`. */
  priomapSlots?: number[];
  /** classid → slot, for the classifier's results. */
  slotOf: Map<number, number>;
}

/** Default auto-assigned filter preference, as the kernel picks for the first filter. */
export const AUTO_PRIO = 49152;
const ROOT_KINDS = new Set(['htb', 'drr', 'qfq', 'prio', 'tbf', 'pfifo', 'bfifo', 'sfq', 'fq_codel']);

function rejected(message: string): TcError {
  return new TcError(TC_EXIT_REJECTED, message);
}

/** A new device tree from `qdisc add|replace ... root`. */
export function createTree(cmd: QdiscCommand, linkRate: number, maxClasses: number): TcTree {
  const q = cmd.qdisc!;
  if (!ROOT_KINDS.has(q.kind)) throw rejected(`Error: Specified qdisc kind is unknown.`);
  const handle = cmd.handle ?? makeHandle(0x8001, 0); // the kernel's first auto handle
  const tree: TcTree = { dev: cmd.dev, linkRate, maxClasses, root: { handle, qdisc: q }, classes: new Map(), filters: [] };
  if (q.kind === 'prio') {
    // The kernel's prio has its bands as classes :1..:bands from the start.
    const classes = new Map<number, TcClass>();
    for (let b = 0; b < q.bands; b++) classes.set(makeHandle(major(handle), b + 1), { classid: makeHandle(major(handle), b + 1), parent: handle, spec: { kind: 'prio' }, slot: b });
    return { ...tree, classes };
  }
  return tree;
}

function freeSlot(tree: TcTree, reserved: number): number {
  const used = new Set([...tree.classes.values()].map((c) => c.slot));
  for (let s = 0; s < tree.maxClasses - reserved; s++) if (!used.has(s)) return s;
  throw rejected(`Error: pspat: no class slot left on ${tree.dev} (max ${tree.maxClasses - reserved}; daemon option maxClasses)`);
}

/** Slots held back at the top of the range: htb's direct queue. */
function reservedSlots(tree: TcTree): number {
  return tree.root.qdisc.kind === 'htb' ? 1 : 0;
}

function childrenOf(tree: TcTree, classid: number): TcClass[] {
  return [...tree.classes.values()].filter((c) => c.parent === classid);
}

/** A class command applied to `tree`; returns the new tree. */
export function applyClass(tree: TcTree, cmd: ClassCommand): TcTree {
  const root = tree.root;
  const existing = tree.classes.get(cmd.classid);
  const classes = new Map(tree.classes);
  if (cmd.verb === 'delete') {
    if (!existing) throw rejected('Error: Specified class not found.');
    if (root.qdisc.kind === 'prio') throw rejected('Error: Specified class not found.');
    if (childrenOf(tree, cmd.classid).length > 0) throw rejected('Error: Class in use by another class.');
    if (tree.filters.some((f) => filterClass(f, tree) === cmd.classid)) throw rejected('Error: Filter in use by the class, delete the filter first.');
    classes.delete(cmd.classid);
    return { ...tree, classes };
  }
  const spec = cmd.cls!;
  if (root.qdisc.kind === 'prio' || root.qdisc.kind === 'tbf' || root.qdisc.kind === 'pfifo' || root.qdisc.kind === 'bfifo') {
    throw rejected(`Error: Qdisc "${root.qdisc.kind}" ${root.qdisc.kind === 'prio' ? 'has fixed classes' : 'is classless'}.`);
  }
  if (spec.kind !== root.qdisc.kind) throw rejected(`Error: Specified class kind "${spec.kind}" does not match the qdisc's ("${root.qdisc.kind}").`);
  const maj = major(cmd.classid) || major(root.handle);
  const classid = makeHandle(maj, minor(cmd.classid));
  if (maj !== major(root.handle) || minor(classid) === 0) throw rejected('Error: Invalid class ID: its major must be the qdisc\'s and its minor non-zero.');
  const parent = cmd.parent === undefined || cmd.parent === TC_H_ROOT ? root.handle : cmd.parent;
  if (parent !== root.handle) {
    if (!tree.classes.has(parent)) throw rejected(`Error: Parent class ${formatHandle(parent)} not found.`);
    if (root.qdisc.kind !== 'htb') throw rejected(`Error: ${root.qdisc.kind} classes cannot have children.`);
  }
  const known = tree.classes.get(classid);
  if (cmd.verb === 'add' && known) throw rejected('RTNETLINK answers: File exists');
  if (cmd.verb === 'change' && !known) throw rejected('RTNETLINK answers: No such file or directory');
  if (known && cmd.parent !== undefined && parent !== known.parent) throw rejected('Error: Cannot change the class\'s parent.');
  if (known) {
    classes.set(classid, { ...known, spec });
    return { ...tree, classes };
  }
  if (parent !== root.handle && tree.classes.get(parent)!.leaf) throw rejected(`Error: Class ${formatHandle(parent)} has a leaf qdisc: delete it before adding children.`);
  classes.set(classid, { classid, parent, spec, slot: freeSlot(tree, reservedSlots(tree)) });
  return { ...tree, classes };
}

/** A qdisc command on a class (a leaf qdisc), or on the root (change only; add/del root is the daemon's). */
export function applyQdisc(tree: TcTree, cmd: QdiscCommand): TcTree {
  if (cmd.parent === TC_H_ROOT) {
    const q = cmd.qdisc;
    if (!q || q.kind !== tree.root.qdisc.kind) throw rejected('Error: Specified qdisc kind does not match the existing one (use replace).');
    if (cmd.handle !== undefined && cmd.handle !== tree.root.handle) throw rejected('Error: Invalid handle.');
    return { ...tree, root: { ...tree.root, qdisc: q } };
  }
  const cls = tree.classes.get(cmd.parent);
  if (!cls) throw rejected('Error: Failed to find specified qdisc');
  const classes = new Map(tree.classes);
  if (cmd.verb === 'delete') {
    if (!cls.leaf) throw rejected('Error: Cannot find specified qdisc on specified device.');
    const { leaf: _, ...rest } = cls;
    classes.set(cls.classid, rest);
    return { ...tree, classes };
  }
  const q = cmd.qdisc!;
  if (q.kind !== 'pfifo' && q.kind !== 'bfifo' && q.kind !== 'sfq' && q.kind !== 'fq_codel') throw rejected(`Error: pspat: only pfifo, bfifo, sfq and fq_codel can be attached to a class, not ${q.kind}.`);
  if (childrenOf(tree, cls.classid).length > 0) throw rejected('Error: Class is not a leaf: it has children.');
  if (cmd.verb === 'add' && cls.leaf) throw rejected('Error: Exclusivity flag on, cannot modify.');
  if (cmd.verb === 'change' && !cls.leaf) throw rejected('Error: Cannot find specified qdisc on specified device.');
  const handle = cmd.handle ?? cls.leaf?.handle ?? makeHandle(0x8001 + cls.slot, 0);
  if (major(handle) === major(tree.root.handle) || [...tree.classes.values()].some((c) => c.leaf && c.classid !== cls.classid && c.leaf.handle === handle)) {
    throw rejected('Error: Exclusivity flag on, cannot modify.');
  }
  classes.set(cls.classid, { ...cls, leaf: { handle, qdisc: q } });
  return { ...tree, classes };
}

/** The class a filter sends packets to, its `:N` completed with its qdisc's major. */
function filterClass(f: TcFilter, tree: TcTree): number | undefined {
  const id = f.spec.classid;
  if (id === undefined) return undefined;
  return major(id) === 0 ? makeHandle(major(tree.root.handle), minor(id)) : id;
}

export function applyFilter(tree: TcTree, cmd: FilterCommand): TcTree {
  const parent = cmd.parent === undefined || cmd.parent === TC_H_ROOT ? tree.root.handle : cmd.parent;
  if (parent !== tree.root.handle) throw rejected("Error: Parent Qdisc doesn't exists.");
  if (cmd.verb === 'delete') {
    const keep = tree.filters.filter((f) => (cmd.prio !== undefined && f.prio !== cmd.prio) || (cmd.handle !== undefined && f.handle !== cmd.handle));
    if (keep.length === tree.filters.length && tree.filters.length > 0 && cmd.prio !== undefined) throw rejected('Error: Filter with specified priority/protocol not found.');
    return { ...tree, filters: keep };
  }
  const spec = cmd.filter!;
  const prio = cmd.prio ?? (tree.filters.length ? Math.min(...tree.filters.map((f) => f.prio)) - 1 : AUTO_PRIO);
  const samePrio = tree.filters.filter((f) => f.prio === prio);
  if (samePrio.some((f) => f.spec.kind !== spec.kind || f.protocol !== cmd.protocol)) {
    throw rejected('Error: Filter kind and protocol must match the existing filters of this priority.');
  }
  const target = filterClass({ prio, protocol: cmd.protocol, parent, spec, args: [] }, tree);
  if (target !== undefined && !tree.classes.has(target)) throw rejected(`Error: pspat: class ${formatHandle(target)} does not exist.`);
  const filter: TcFilter = { prio, protocol: cmd.protocol, parent, spec, args: cmd.args ?? [spec.kind], ...(cmd.handle !== undefined ? { handle: cmd.handle } : {}) };
  if (cmd.verb === 'add') return { ...tree, filters: [...tree.filters, filter] };
  // change / replace: the filter with this prio and handle.
  const at = tree.filters.findIndex((f) => f.prio === prio && f.handle === cmd.handle);
  if (at < 0) {
    if (cmd.verb === 'change') throw rejected('Error: Filter with specified priority/protocol not found.');
    return { ...tree, filters: [...tree.filters, filter] };
  }
  return { ...tree, filters: tree.filters.map((f, k) => (k === at ? filter : f)) };
}

/** The kernel's TOS → priority map (rt_tos2priority) for prio's priomap. */
const TOS_PRIORITY = [0, 0, 0, 0, 2, 2, 2, 2, 6, 6, 6, 6, 4, 4, 4, 4];

/** Priority (0..15) of an IPv4 packet with TOS byte `tos`, as the kernel derives skb->priority. */
export function tosPriority(tos: number): number {
  return TOS_PRIORITY[(tos >> 1) & 0xf];
}

/**
 * A class's queue from its leaf: pfifo's packet limit, bfifo's byte limit, an sfq or
 * fq_codel discipline, or tc's default pfifo of txqueuelen packets. Always stated, so
 * removing a leaf resets the limit (config-diff.ts adds `leaf: null` when a discipline goes).
 * TODO(issue 5): a byte limit cannot be lifted again once set (ClassParams has no "none").
 */
function leafLimits(c: TcClass): ClassParams {
  const q = c.leaf?.qdisc;
  if (q?.kind === 'bfifo') return { limitPackets: MAX_LIMIT, limitBytes: q.limit ?? DEFAULT_LIMIT_PACKETS * ETH_FRAME };
  if (q?.kind === 'sfq' || q?.kind === 'fq_codel') return { limitPackets: DEFAULT_LIMIT_PACKETS, leaf: { kind: q.kind, params: flowQueueParams(q) } };
  return { limitPackets: q?.kind === 'pfifo' ? (q.limit ?? DEFAULT_LIMIT_PACKETS) : DEFAULT_LIMIT_PACKETS };
}

/** An sfq or fq_codel qdisc's options as the scheduler's root parameters. */
function flowQueueParams(q: Extract<QdiscSpec, { kind: 'sfq' | 'fq_codel' }>): RootParams {
  if (q.kind === 'sfq') {
    return { limitPackets: q.limit, divisor: q.divisor, flows: q.flows, depth: q.depth, headdrop: q.headdrop, perturbS: q.perturbS, ...(q.quantum !== undefined ? { quantum: q.quantum } : {}) };
  }
  return {
    limitPackets: q.limit, flows: q.flows, quantum: q.quantum, targetUs: q.targetUs, intervalUs: q.intervalUs,
    memoryLimit: q.memoryLimit, dropBatch: q.dropBatch, ecn: q.ecn, ...(q.ceThresholdUs !== undefined ? { ceThresholdUs: q.ceThresholdUs } : {}),
  };
}

/** bfifo's default limit is txqueuelen full-size frames. */
const ETH_FRAME = 1514;

export function linkConfig(tree: TcTree): LinkConfig {
  const q = tree.root.qdisc;
  const classes = new Map<number, ClassParams>();
  const slotOf = new Map<number, number>();
  for (const c of tree.classes.values()) slotOf.set(c.classid, c.slot);
  switch (q.kind) {
    case 'htb': {
      for (const c of tree.classes.values()) {
        const s = c.spec as Extract<ClassSpec, { kind: 'htb' }>;
        const parent = c.parent === tree.root.handle ? undefined : tree.classes.get(c.parent)!.slot;
        classes.set(c.slot, {
          rate: s.rate, ceil: s.ceil, prio: s.prio, mpu: s.mpu,
          ...(parent !== undefined ? { parent } : {}),
          ...(s.burst !== undefined ? { burst: s.burst } : {}),
          ...(s.cburst !== undefined ? { cburst: s.cburst } : {}),
          ...(s.quantum !== undefined ? { quantum: s.quantum } : {}),
          ...leafLimits(c),
        });
      }
      const direct = tree.maxClasses - 1;
      classes.set(direct, { rate: tree.linkRate, ceil: tree.linkRate, prio: 0, ...(q.directQlen !== undefined ? { limitPackets: q.directQlen } : {}) });
      const def = tree.classes.get(makeHandle(major(tree.root.handle), q.defaultClass));
      return { scheduler: 'htb', rootParams: { r2q: q.r2q }, classes, unclassifiedSlot: def ? def.slot : direct, slotOf };
    }
    case 'drr':
    case 'qfq':
      for (const c of tree.classes.values()) {
        const s = c.spec;
        const p: ClassParams = s.kind === 'drr' ? (s.quantum !== undefined ? { quantum: s.quantum } : {}) : s.kind === 'qfq' ? { ...(s.weight !== undefined ? { weight: s.weight } : {}), ...(s.maxpkt !== undefined ? { maxpkt: s.maxpkt } : {}) } : {};
        classes.set(c.slot, { ...p, ...leafLimits(c) });
      }
      return { scheduler: q.kind, rootParams: {}, classes, unclassifiedSlot: -1, slotOf };
    case 'prio': {
      for (const c of tree.classes.values()) classes.set(c.slot, { band: c.slot, ...leafLimits(c) });
      const priomapSlots = q.priomap.map((band) => band);
      return { scheduler: 'prio', rootParams: {}, classes, unclassifiedSlot: priomapSlots[0], priomapSlots, slotOf };
    }
    case 'tbf':
      classes.set(0, { rate: q.rate, ceil: q.rate, burst: q.burst, cburst: q.burst, limitBytes: q.limit });
      return { scheduler: 'htb', rootParams: {}, classes, unclassifiedSlot: 0, slotOf };
    case 'pfifo':
    case 'bfifo':
      classes.set(0, {});
      return { scheduler: 'fifo', rootParams: q.limit === undefined ? {} : q.kind === 'pfifo' ? { limitPackets: q.limit } : { limitBytes: q.limit }, classes, unclassifiedSlot: 0, slotOf };
    case 'sfq':
    case 'fq_codel':
      classes.set(0, {});
      return { scheduler: q.kind, rootParams: flowQueueParams(q), classes, unclassifiedSlot: 0, slotOf };
  }
}
