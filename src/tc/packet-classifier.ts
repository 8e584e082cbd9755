/**
 * What a client thread needs to put a packet in its class on a managed device: the
 * device's filters (classifier.ts), the classid → slot map, and what to do with a packet
 * no filter classified (the qdisc's default class, prio's priomap by TOS, or a drop).
 * `ClassifierConfig` is plain data, posted to client workers whenever `pspat tc` changes
 * a filter or class; each worker compiles its own `PacketClassifier`.
 */
import { Classifier, NO_MATCH, type InstalledFilter } from './classifier.js';
import { linkConfig, tosPriority, type TcTree } from './tree.js';

export interface ClassifierConfig {
  filters: InstalledFilter[];
  slotOf: [classid: number, slot: number][];
  /** Slot for unclassified packets; -1: drop them. */
  unclassifiedSlot: number;
  /** prio: slot per TOS-derived priority, for unclassified IPv4 packets. */
  priomapSlots?: number[];
}

export function classifierConfig(tree: TcTree): ClassifierConfig {
  const c = linkConfig(tree);
  return {
    filters: tree.filters.map(({ prio, protocol, parent, spec }) => ({ prio, protocol, parent, spec })),
    slotOf: [...c.slotOf],
    unclassifiedSlot: c.unclassifiedSlot,
    ...(c.priomapSlots ? { priomapSlots: c.priomapSlots } : {}),
  };
}

const ETH_HEADER = 14;
const ETH_P_IP = 0x0800;

export class PacketClassifier {
  private readonly classifier: Classifier;
  private readonly slotOf: Map<number, number>;

  constructor(private readonly config: ClassifierConfig) {
    this.classifier = new Classifier(config.filters);
    this.slotOf = new Map(config.slotOf);
  }

  /** The class slot of the Ethernet frame at bytes[off..off+len), -1 to drop it. */
  slotFor(bytes: Uint8Array, off: number, len: number, mark = 0): number {
    const proto = (bytes[off + 12] << 8) | bytes[off + 13];
    const classid = this.classifier.classify(bytes, off, off + ETH_HEADER, off + len, proto, mark);
    if (classid !== NO_MATCH) return this.slotOf.get(classid) ?? this.config.unclassifiedSlot;
    const map = this.config.priomapSlots;
    if (map && proto === ETH_P_IP) return map[tosPriority(bytes[off + ETH_HEADER + 1])];
    return this.config.unclassifiedSlot;
  }
}
