/**
 * One qdisc kind, everything pspat tc knows of it in one place, as iproute2 keeps one
 * q_KIND.c per qdisc: its grammar (the options after the kind word, tc's defaults and
 * messages), how `show` prints it (text and `-j`), how a config dump writes it back, how
 * the kernel's netlink attributes for it read back (`decode`, for follow mode), and what
 * pspat runs for it: the scheduler it becomes as a link's root or a class's inner qdisc
 * (`scheduler`), or the queue it gives the class it is attached to (`queue`). For a kind
 * whose classes the user adds, the same for its classes. The registry (index.ts) maps each
 * kind word to its module. Adding a kind is a file, a line there, and its spec in model.ts.
 *
 * Modules here import no tree code: what they need of the tree around them comes in a
 * ClassPlace (show), a ParamsPlace (a class's parameters) or a KindTree (the scheduler),
 * each answered by the caller (show.ts, tree.ts).
 */
import type { TcArgs } from '../args.js';
import { whatIs } from '../errors.js';
import type { ClassSpec, QdiscKind, QdiscSpec } from '../model.js';
import type { DeviceFacts } from '../../net/device.js';
import type { ClassParams, RootParams } from '../../../schedulers/types.js';
import type { Attrs } from '../netlink-attrs.js';
import { DEFAULT_LIMIT_PACKETS } from '../../../schedulers/class-queues.js';
import type { SlotStats } from '../show.js';

export type QdiscOf<K extends QdiscKind> = Extract<QdiscSpec, { kind: K }>;
export type ClassOf<K extends QdiscKind> = Extract<ClassSpec, { kind: K }>;

/** What a class's options in `show` depend on besides its own spec. */
export interface ClassPlace {
  /** No class has it as its parent. */
  leaf: boolean;
  device: DeviceFacts;
  /** htb's level and quantum, tree queries only htb asks for. */
  level(): number;
  quantum(): number;
}

/** What a class's scheduler parameters depend on besides its own spec. */
export interface ParamsPlace {
  device: DeviceFacts;
  /** The slot of its parent class; undefined for a class at the top of its qdisc. */
  parentSlot: number | undefined;
}

/** What a qdisc's scheduler depends on besides its own spec: the tree around it (tree.ts answers). */
export interface KindTree {
  device: DeviceFacts;
  /** The link's rate, bit/s (htb's direct queue is shaped to it). */
  linkRate: number;
  /** The slot a direct queue takes (Kind.directQueue). */
  directSlot: number;
  /** The classes of qdisc `handle`, in the tree's order, each with its scheduler parameters, its queue included. */
  classesOf(handle: number): { classid: number; slot: number; params: ClassParams }[];
  /** The queue that the qdisc attached to class `classid` gives it; undefined when none is attached. */
  attachedQueue(classid: number): ClassParams | undefined;
}

/** A qdisc as pspat runs it: a scheduler with its classes by slot, and where unclassified packets go. */
export interface KindScheduler {
  scheduler: string;
  rootParams: RootParams;
  classes: Map<number, ClassParams>;
  /** Slot of a packet no filter classified; -1 drops it (reason: no class). */
  unclassifiedSlot: number;
  /** prio: slot per TOS-derived priority 0..15, used instead of `unclassifiedSlot`. */
  priomapSlots?: number[];
  /**
   * prio: its band count. prio reads only a classid's minor (band = minor − 1, whatever the
   * major), where htb, drr and qfq look the whole classid up: `flowid :1` finds no class
   * 0:1 there, and the packet is unclassified (measured on the kernel: htb sends it
   * through its direct queue).
   */
  bands?: number;
}

export interface ClassKind<K extends QdiscKind> {
  /** The options after `class add ... KIND`. */
  parse(a: TcArgs): ClassOf<K>;
  /** The class's own parameters for pspat's scheduler of this kind (its queue is tree.ts's). */
  params(spec: ClassOf<K>, place: ParamsPlace): ClassParams;
  /** `class show`'s options (`details`: what -d adds). */
  show(spec: ClassOf<K>, place: ClassPlace, details: boolean): string;
  /** `class show -j`'s options, merged into the class's object. */
  json(spec: ClassOf<K>, place: ClassPlace): object;
  /** The words from the kind on, for a config dump. */
  dump(spec: ClassOf<K>): string;
  /** Lines `-s` adds after the common counters (htb's lends and tokens). */
  statsLines?(spec: ClassOf<K>, s: SlotStats): string[];
  /** The class back from the kernel's attributes (TCA_OPTIONS, nested), as a dump or a change gives them. */
  decode(options: Attrs): ClassOf<K>;
}

export interface Kind<K extends QdiscKind> {
  /** The options after `qdisc add ... KIND`. */
  parse(a: TcArgs): QdiscOf<K>;
  /** `qdisc show`'s options (`details`: -d; `direct`: packets htb sent by its direct queue). */
  show(q: QdiscOf<K>, device: DeviceFacts, details: boolean, direct: number): string;
  /** `qdisc show -j`'s `options` object (rates in bytes/s, sizes in bytes, as tc -j; `details`: -d). */
  json(q: QdiscOf<K>, device: DeviceFacts, direct: number, details: boolean): object;
  /** The words from the kind on, for a config dump. */
  dump(q: QdiscOf<K>): string;
  /** tc prints this kind's options with no trailing space. */
  bareEnd?: boolean;
  /** The kernel's qdisc has no change operation: a change, or a replace by the same kind, is refused. */
  noChange?: true;
  /** What `change` (or a `replace` by the same kind) leaves; absent: the new options whole. */
  change?(old: QdiscOf<K>, next: QdiscOf<K>, words: readonly string[]): QdiscOf<K>;
  /** The qdisc back from the kernel's TCA_OPTIONS (undefined: the kind sent none). */
  decode(options: DataView | undefined): QdiscOf<K>;
  /** pspat's scheduler for this qdisc (handle `handle`) as a link's root, and, for an `inner` kind, as a class's inner qdisc. */
  scheduler(q: QdiscOf<K>, tree: KindTree, handle: number): KindScheduler;
  /**
   * What it is on a class: `queue`, the class's queue (the fifos, sfq, fq_codel, tbf: `queue`
   * gives it); `inner`, a scheduler of its own with classes (htb, drr, qfq, prio).
   */
  onClass: 'queue' | 'inner';
  /** A `queue` kind: the queue it gives the class it is attached to. */
  queue?(q: QdiscOf<K>, device: DeviceFacts): ClassParams;
  /** The classes the kernel makes with the qdisc (prio's bands, tbf's one class): minor and slot of each. */
  fixedClasses?(q: QdiscOf<K>): { minor: number; slot: number }[];
  /** Classes the user adds (htb, drr, qfq); absent for classless kinds and fixed classes (prio, tbf). */
  classes?: ClassKind<K>;
  /** Its scheduler keeps a direct queue in KindTree's `directSlot` (htb's, for unclassified packets with no default class). */
  directQueue?: true;
}

/** The qdisc side of a kind that takes no options (drr, qfq): tc refuses any word after it. */
export function optionless<K extends 'drr' | 'qfq'>(kind: K): Pick<Kind<K>, 'parse' | 'show' | 'json' | 'dump' | 'decode'> {
  return {
    parse(a) {
      if (!a.done) throw whatIs(a.next());
      return { kind } as QdiscOf<K>;
    },
    show: () => '',
    json: () => ({}),
    dump: () => kind,
    decode: () => ({ kind }) as QdiscOf<K>,
  };
}

/**
 * The scheduler of a qdisc whose classes each take their own slot (`classes`: KindTree's
 * classesOf): `rootParams` and where unclassified packets go are the kind's; drr and qfq
 * drop them.
 */
export function userClasses(
  scheduler: string,
  classes: { slot: number; params: ClassParams }[],
  rootParams: RootParams = {},
  unclassifiedSlot = -1,
): KindScheduler {
  return { scheduler, rootParams, classes: new Map(classes.map((c) => [c.slot, c.params])), unclassifiedSlot };
}

/** A classless kind's scheduler: one class in slot 0, which every packet goes to. */
export function oneClass(scheduler: string, rootParams: RootParams): KindScheduler {
  return { scheduler, rootParams, classes: new Map([[0, {}]]), unclassifiedSlot: 0 };
}

/**
 * What sfq and fq_codel are to pspat: a flow-queue scheduler of that name with their
 * options (`params`), as a root; as a class's queue, that class's leaf discipline.
 */
export function flowQueues<K extends 'sfq' | 'fq_codel'>(kind: K, params: (q: QdiscOf<K>) => RootParams): Pick<Kind<K>, 'scheduler' | 'queue' | 'onClass'> {
  return {
    scheduler: (q) => oneClass(kind, params(q)),
    queue: (q) => ({ limitPackets: DEFAULT_LIMIT_PACKETS, leaf: { kind, params: params(q) } }),
    onClass: 'queue',
  };
}
