/**
 * What a client thread needs to put a packet in its class on a managed device: the
 * device's filters (classifier.ts), the classid → slot map, and what to do with a packet
 * no filter classified (the qdisc's default class, prio's priomap by TOS, or a drop) —
 * once for the root qdisc, and again, with its own filters, for a class that holds an
 * inner classful qdisc (the result goes in the frame table's `sub`).
 * `ClassifierConfig` is plain data, posted to client workers whenever `pspat tc` changes
 * a filter or class; each worker compiles its own `PacketClassifier`.
 */
import { Classifier, NO_MATCH, type InstalledFilter } from './classifier.js';
import { ETH_HEADER } from '../net/device.js';
import { FlowHasher, type FlowKey } from './flow-hash.js';
import { ETH_P } from './model.js';
import { isInnerClassful, linkConfig, qdiscScheduler, tosPriority, type LinkConfig, type TcTree } from './tree.js';
import type { KindScheduler } from './kinds/kind.js';

/** One qdisc's classification: its filters, classid → slot, and its unclassified rule. */
export interface QdiscClassifierConfig {
  filters: InstalledFilter[];
  slotOf: [classid: number, slot: number][];
  /** Slot for unclassified packets; -1: drop them. */
  unclassifiedSlot: number;
  /** prio: slot per TOS-derived priority, for unclassified IPv4 packets. */
  priomapSlots?: number[];
  /** prio: its band count (KindScheduler.bands says why the classifier needs it). */
  bands?: number;
}

export interface ClassifierConfig extends QdiscClassifierConfig {
  /** Root class slot → the classification of the inner qdisc attached to that class. */
  inner: [slot: number, config: QdiscClassifierConfig][];
  /** The key of the flow hash (flow-hash.ts): a daemon's own random one; FIXED_FLOW_KEY without. */
  flowKey?: FlowKey;
}

function filtersOn(tree: TcTree, parent: number): InstalledFilter[] {
  return tree.filters
    .filter((f) => f.parent === parent)
    .map(({ prio, protocol, parent: p, spec, u32 }) => ({ prio, protocol, parent: p, spec, ...(u32 ? { rootTable: u32.root } : {}) }));
}

/** Where a qdisc's scheduler sends what no filter classified (kind.ts KindScheduler). */
function unclassifiedRule(s: KindScheduler): Pick<QdiscClassifierConfig, 'unclassifiedSlot' | 'priomapSlots' | 'bands'> {
  return {
    unclassifiedSlot: s.unclassifiedSlot,
    ...(s.priomapSlots ? { priomapSlots: [...s.priomapSlots] } : {}),
    ...(s.bands !== undefined ? { bands: s.bands } : {}),
  };
}

/** `c`: the tree's link configuration, when the caller has it already. */
export function classifierConfig(tree: TcTree, c: LinkConfig = linkConfig(tree)): ClassifierConfig {
  const inner: ClassifierConfig['inner'] = [];
  for (const cls of tree.classes.values()) {
    const leaf = cls.leaf;
    // A class with a classless leaf (a FIFO, sfq, fq_codel, tbf) needs no second stage: sub 0.
    if (cls.owner !== tree.root.handle || !leaf || !isInnerClassful(leaf.qdisc)) continue;
    const own = [...tree.classes.values()].filter((x) => x.owner === leaf.handle);
    inner.push([
      cls.slot,
      {
        filters: filtersOn(tree, leaf.handle),
        slotOf: own.map((x) => [x.classid, x.slot]),
        ...unclassifiedRule(qdiscScheduler(tree, leaf.handle, leaf.qdisc)),
      },
    ]);
  }
  return {
    filters: filtersOn(tree, tree.root.handle),
    slotOf: [...c.slotOf],
    ...unclassifiedRule(c),
    inner,
  };
}

/** One qdisc's compiled classification. */
class QdiscClassifier {
  readonly classifier: Classifier;
  private readonly slotOf: Map<number, number>;

  constructor(private readonly config: QdiscClassifierConfig) {
    this.classifier = new Classifier(config.filters);
    this.slotOf = new Map(config.slotOf);
  }

  slotFor(bytes: Uint8Array, off: number, len: number, proto: number, mark: number): number {
    const classid = this.classifier.classify(bytes, off, off + ETH_HEADER, off + len, proto, mark);
    const bands = this.config.bands;
    if (classid !== NO_MATCH && bands !== undefined) {
      // A prio band's slot is its index (prio.ts fixedClasses); past the last band, priomap's first.
      const band = (classid & 0xffff) - 1;
      return band >= 0 && band < bands ? band : this.config.priomapSlots![0];
    }
    if (classid !== NO_MATCH) return this.slotOf.get(classid) ?? this.config.unclassifiedSlot;
    const map = this.config.priomapSlots;
    if (map && proto === ETH_P.ip) return map[tosPriority(bytes[off + ETH_HEADER + 1])];
    return this.config.unclassifiedSlot;
  }
}

export class PacketClassifier {
  private readonly root: QdiscClassifier;
  /** Per root class slot with an inner classful qdisc: its classification. */
  private readonly inner: (QdiscClassifier | undefined)[] = [];
  /** The inner class slot of the last packet (`slotFor`), 0 when its class has no inner qdisc. */
  lastSub = 0;
  /** The device's flow hash, under its daemon's key. */
  readonly flows: FlowHasher;

  constructor(config: ClassifierConfig) {
    this.flows = new FlowHasher(config.flowKey);
    this.root = new QdiscClassifier(config);
    for (const [slot, c] of config.inner) this.inner[slot] = new QdiscClassifier(c);
  }

  /** Policer named by the root filter that classified the last packet (`slotFor`), −1 none. */
  get lastPolice(): number {
    return this.root.classifier.lastPolice;
  }

  /** The class slot of the Ethernet frame at bytes[off..off+len) (and `lastSub`), -1 to drop it. */
  slotFor(bytes: Uint8Array, off: number, len: number, mark = 0): number {
    const proto = (bytes[off + 12] << 8) | bytes[off + 13];
    const slot = this.root.slotFor(bytes, off, len, proto, mark);
    this.lastSub = 0;
    const inner = slot >= 0 ? this.inner[slot] : undefined;
    if (inner === undefined) return slot;
    this.lastSub = inner.slotFor(bytes, off, len, proto, mark);
    return this.lastSub < 0 ? -1 : slot;
  }
}
