/**
 * One qdisc kind, everything pspat tc knows of it in one place, as iproute2 keeps one
 * q_KIND.c per qdisc: its grammar (the options after the kind word, tc's defaults and
 * messages), how `show` prints it (text and `-j`), and how a config dump writes it back;
 * for a kind whose classes the user adds, the same for its classes. The registry
 * (index.ts) maps each kind word to its module. A module also gives pspat's scheduler
 * its parameters: a class's own (`ClassKind.params`), sfq's and fq_codel's root ones.
 * Adding a kind is a file and a line there, plus its spec in model.ts and two switches not
 * moved here: how the kind combines with the tree around it (tree.ts: a leaf under a
 * class, an inner classful qdisc, htb's default class and direct queue, tbf as a one-class
 * htb — decisions that need the tree's own queries), and its netlink attributes
 * (follow/tc-decode.ts).
 *
 * Modules here import no tree code: what a class's show needs of its place in the tree
 * comes in a ClassPlace, computed by show.ts.
 */
import type { TcArgs } from '../args.js';
import { whatIs } from '../errors.js';
import type { ClassSpec, QdiscKind, QdiscSpec } from '../model.js';
import type { DeviceFacts } from '../../net/device.js';
import type { ClassParams, RootParams } from '../../../schedulers/types.js';
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
}

export interface Kind<K extends QdiscKind> {
  /** The options after `qdisc add ... KIND`. */
  parse(a: TcArgs): QdiscOf<K>;
  /** `qdisc show`'s options (`details`: -d; `direct`: packets htb sent by its direct queue). */
  show(q: QdiscOf<K>, device: DeviceFacts, details: boolean, direct: number): string;
  /** `qdisc show -j`'s `options` object (rates in bytes/s, sizes in bytes, as tc -j). */
  json(q: QdiscOf<K>, device: DeviceFacts, direct: number): object;
  /** The words from the kind on, for a config dump. */
  dump(q: QdiscOf<K>): string;
  /** tc prints this kind's options with no trailing space. */
  bareEnd?: boolean;
  /** What `change` (or a `replace` by the same kind) leaves; absent: the new options whole. */
  change?(old: QdiscOf<K>, next: QdiscOf<K>, words: readonly string[]): QdiscOf<K>;
  /** The scheduler's root parameters, for the kinds whose options are all there (sfq, fq_codel). */
  rootParams?(q: QdiscOf<K>): RootParams;
  /** Classes the user adds (htb, drr, qfq); absent for classless kinds and fixed classes (prio, tbf). */
  classes?: ClassKind<K>;
}

/** The qdisc side of a kind that takes no options (drr, qfq): tc refuses any word after it. */
export function optionless<K extends 'drr' | 'qfq'>(kind: K): Pick<Kind<K>, 'parse' | 'show' | 'json' | 'dump'> {
  return {
    parse(a) {
      if (!a.done) throw whatIs(a.next());
      return { kind } as QdiscOf<K>;
    },
    show: () => '',
    json: () => ({}),
    dump: () => kind,
  };
}
