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
import { ETH_P, type QdiscSpec } from './model.js';
import { htbUnclassified, isInnerClassful, linkConfig, tosPriority, type LinkConfig, type TcTree } from './tree.js';

/** One qdisc's classification: its filters, classid → slot, and its unclassified rule. */
export interface QdiscClassifierConfig {
  filters: InstalledFilter[];
  slotOf: [classid: number, slot: number][];
  /** Slot for unclassified packets; -1: drop them. */
  unclassifiedSlot: number;
  /** prio: slot per TOS-derived priority, for unclassified IPv4 packets. */
  priomapSlots?: number[];
}

export interface ClassifierConfig extends QdiscClassifierConfig {
  /** Root class slot → the classification of the inner qdisc attached to that class. */
  inner: [slot: number, config: QdiscClassifierConfig][];
}

function filtersOn(tree: TcTree, parent: number): InstalledFilter[] {
  return tree.filters.filter((f) => f.parent === parent).map(({ prio, protocol, parent: p, spec }) => ({ prio, protocol, parent: p, spec }));
}

/** An inner drr or qfq drops what its filters do not classify; a prio uses its priomap, an htb its default class. */
function innerUnclassified(tree: TcTree, h: number, q: QdiscSpec): Pick<QdiscClassifierConfig, 'unclassifiedSlot' | 'priomapSlots'> {
  if (q.kind === 'prio') return { unclassifiedSlot: q.priomap[0], priomapSlots: [...q.priomap] };
  if (q.kind === 'htb') return { unclassifiedSlot: htbUnclassified(tree, h, q) };
  return { unclassifiedSlot: -1 };
}

/** `c`: the tree's link configuration, when the caller has it already. */
export function classifierConfig(tree: TcTree, c: LinkConfig = linkConfig(tree)): ClassifierConfig {
  const inner: ClassifierConfig['inner'] = [];
  for (const cls of tree.classes.values()) {
    const leaf = cls.leaf;
    // A class with a classless leaf (a FIFO, sfq, fq_codel, tbf) needs no second stage: sub 0.
    if (cls.owner !== tree.root.handle || !leaf || !isInnerClassful(leaf.qdisc)) continue;
    const own = [...tree.classes.values()].filter((x) => x.owner === leaf.handle);
    inner.push([cls.slot, { filters: filtersOn(tree, leaf.handle), slotOf: own.map((x) => [x.classid, x.slot]), ...innerUnclassified(tree, leaf.handle, leaf.qdisc) }]);
  }
  return {
    filters: filtersOn(tree, tree.root.handle),
    slotOf: [...c.slotOf],
    unclassifiedSlot: c.unclassifiedSlot,
    ...(c.priomapSlots ? { priomapSlots: c.priomapSlots } : {}),
    inner,
  };
}

const ETH_HEADER = 14;
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;

/** One murmur3 mixing round: a word into the running hash. */
function mix(h: number, w: number): number {
  let k = Math.imul(w, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  h ^= Math.imul(k, 0x1b873593);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function word(b: Uint8Array, p: number): number {
  return (b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3];
}

/**
 * The flow hash sfq and fq_codel queue by, as the kernel's flow dissector keys it: IP
 * addresses, protocol and, for TCP/UDP, the ports; for other frames, the MAC addresses
 * and ethertype. Unperturbed: each qdisc mixes in its own seed. Never 0 for a real flow.
 */
export function flowHash(b: Uint8Array, off: number, len: number): number {
  const proto = (b[off + 12] << 8) | b[off + 13];
  const l3 = off + ETH_HEADER;
  let h = proto;
  let l4 = -1;
  let ipProto = 0;
  if (proto === ETH_P.ip && len >= ETH_HEADER + 20) {
    ipProto = b[l3 + 9];
    h = mix(mix(mix(h, word(b, l3 + 12)), word(b, l3 + 16)), ipProto);
    l4 = l3 + 4 * (b[l3] & 0x0f);
  } else if (proto === ETH_P.ipv6 && len >= ETH_HEADER + 40) {
    ipProto = b[l3 + 6];
    for (let i = 8; i < 40; i += 4) h = mix(h, word(b, l3 + i));
    h = mix(h, ipProto);
    l4 = l3 + 40;
  } else {
    for (let i = 0; i < 12; i += 4) h = mix(h, word(b, off + i));
  }
  if ((ipProto === IPPROTO_TCP || ipProto === IPPROTO_UDP) && l4 + 4 <= off + len) h = mix(h, word(b, l4));
  // murmur3's finaliser spreads the bits; 0 stays free to mean "no hash".
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0 || 1;
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

  constructor(config: ClassifierConfig) {
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
