/**
 * tc filters compiled into a classifier that client threads run on each packet before
 * stamping its class into the frame table (the arbiter never classifies).
 *
 * Semantics follow the kernel's cls_api.c and the classifiers' own files:
 *   - filters are tried in ascending `prio`; within a prio, in the order of their kind's
 *     structure; a filter applies only to packets of its `protocol` (or all);
 *   - u32 (cls_u32.c): each prio is one u32 instance with a root hash table of its own
 *     (800:, 801:, …); the hash tables are the qdisc's, shared by every prio, so a node
 *     may go in (`ht`) or link to a table another prio made. The walk starts in the
 *     prio's root table, bucket 0, and tries its nodes in handle order. A node matches when every
 *     key does ((word at off) & mask == value, words big-endian from the network header;
 *     negative offsets reach the link header) and `match mark` does. A matching node with
 *     `link X:` descends into table X, bucket ((word at hashkey.off & mask) >> shift) &
 *     (divisor − 1), shift being the mask's lowest set bit; if nothing there matches, the
 *     walk resumes after the linking node. A matching node with a classid classifies. A
 *     key whose masked bytes lie outside the frame ends this u32 instance without a match,
 *     as the kernel's skb_header_pointer failure does. Without `offset`, which pspat does not take,
 *     `nexthdr+N` is N from the network header (the kernel's off2 stays 0);
 *   - fw (cls_fw.c): (mark & mask) == handle;
 *   - basic without ematches, matchall: every packet.
 * The classid is the filter's as written: a major of 0 (`flowid :10`, `flowid 10`) is not
 * filled in — the qdisc decides what it means (packet-classifier.ts).
 *
 * Per-packet work allocates nothing; the compiled form is plain arrays.
 */
import { ETH_P, type FilterSpec, type PoliceSpec } from './model.js';
import { TcError, TC_EXIT_REJECTED } from './errors.js';
import { U32_FIRST_TABLE } from './u32-handles.js';

/** What the kernel's cls_u32 refuses, in its words (exit 2). */
const rejected = (message: string) => new TcError(TC_EXIT_REJECTED, message);

/** A filter as the daemon holds it once added. */
export interface InstalledFilter {
  prio: number;
  protocol: number;
  /** The qdisc the filter is attached to. */
  parent: number;
  spec: FilterSpec;
  /** u32: its priority's root table id as the kernel numbers it (800, 801, …: u32-handles.ts). @default U32_FIRST_TABLE */
  rootTable?: number;
}

/** What `classify` found. */
export const NO_MATCH = -1;

const FIRST_NODE = 0x800;

/** Words per key in U32Node.keys: value, mask, off, then the first and last byte the mask covers. */
const KEY_WORDS = 5;

interface U32Node {
  id: number;
  /** KEY_WORDS numbers per key, plain keys first, then nexthdr ones. */
  keys: number[];
  markValue: number;
  markMask: number;
  classid: number;
  link: number;
  hashOff: number;
  hashMask: number;
  hashShift: number;
  police: number;
}

interface U32Table {
  divisor: number;
  buckets: U32Node[][];
}

type Stage =
  | { kind: 'u32'; prio: number; protocol: number; root: number }
  | { kind: 'fw'; prio: number; protocol: number; mark: number; mask: number; classid: number; police: number }
  | { kind: 'all'; prio: number; protocol: number; classid: number; police: number };

/**
 * The big-endian 32-bit word at `pos`, bytes outside the frame [start, end) read as 0: a
 * key packed from a u8 or u16 match masks those bytes out, and its own bytes are
 * bounds-checked apart.
 */
function wordAt(b: Uint8Array, pos: number, start: number, end: number): number {
  if (pos >= start && pos + 4 <= end) return ((b[pos] << 24) | (b[pos + 1] << 16) | (b[pos + 2] << 8) | b[pos + 3]) >>> 0;
  let w = 0;
  for (let i = 0; i < 4; i++) w = (w << 8) | (pos + i >= start && pos + i < end ? b[pos + i] : 0);
  return w >>> 0;
}

/** [first, last] byte of a word that `mask` covers (the mask is non-zero). */
function maskedBytes(mask: number): [number, number] {
  const bytes = [0, 1, 2, 3].filter((i) => ((mask >>> (24 - 8 * i)) & 0xff) !== 0);
  return [bytes[0], bytes[bytes.length - 1]];
}

function lowestSetBit(mask: number): number {
  return mask === 0 ? 0 : 31 - Math.clz32(mask & -mask);
}

export class Classifier {
  private readonly stages: Stage[] = [];
  private readonly u32ByPrio = new Map<number, Extract<Stage, { kind: 'u32' }>>();
  /** The u32 hash tables of the qdisc, every prio's: their roots and the ones made with `divisor`. */
  private readonly tables = new Map<number, U32Table>();
  /** The policers of matching filters, by index (`police` in a node or stage). */
  readonly policers: PoliceSpec[] = [];
  /** Policer of the filter that classified the last packet, or -1. */
  lastPolice = -1;

  /** `filters` in the order they were added: a node may name a table another prio made before it. */
  constructor(filters: readonly InstalledFilter[]) {
    for (const f of filters) this.install(f);
    this.stages.sort((x, y) => x.prio - y.prio); // stable: a prio's own order stays
  }

  private fullClassid(classid: number | undefined): number {
    return classid === undefined ? NO_MATCH : classid;
  }

  private policeIndex(p: PoliceSpec | undefined): number {
    if (!p) return -1;
    this.policers.push(p);
    return this.policers.length - 1;
  }

  private install(f: InstalledFilter): void {
    const s = f.spec;
    if (s.kind === 'fw') {
      this.stages.push({
        kind: 'fw',
        prio: f.prio,
        protocol: f.protocol,
        mark: s.mark,
        mask: s.mask,
        classid: this.fullClassid(s.classid),
        police: this.policeIndex(s.police),
      });
      return;
    }
    if (s.kind === 'basic' || s.kind === 'matchall') {
      this.stages.push({ kind: 'all', prio: f.prio, protocol: f.protocol, classid: this.fullClassid(s.classid), police: this.policeIndex(s.police) });
      return;
    }
    // u32: the filters of one prio are one instance, with a root table of its own.
    const tables = this.tables;
    let stage = this.u32ByPrio.get(f.prio);
    if (!stage) {
      // Without the kernel's number (a caller that keeps none), the next one it would give.
      let root = f.rootTable ?? U32_FIRST_TABLE;
      for (let n = 1; f.rootTable === undefined && tables.has(root); n++) root = U32_FIRST_TABLE | n;
      stage = { kind: 'u32', prio: f.prio, protocol: f.protocol, root };
      tables.set(root, { divisor: 1, buckets: [[]] });
      this.u32ByPrio.set(f.prio, stage);
      this.stages.push(stage);
    }
    const handle = s.handle ?? 0;
    if (s.divisor !== undefined) {
      const htid = handle >>> 20;
      if (htid === 0 || tables.has(htid)) throw rejected('Error: Filter already exists.');
      tables.set(htid, { divisor: s.divisor, buckets: Array.from({ length: s.divisor }, () => []) });
      return;
    }
    const place = s.ht ?? (handle >>> 20 ? handle & 0xfffff000 : stage.root << 20);
    const htid = place >>> 20 || stage.root;
    const bucket = (place >>> 12) & 0xff;
    const table = tables.get(htid);
    if (!table) throw rejected('Error: cls_u32: Specified hash table not found.');
    if (bucket >= table.divisor) throw rejected('Error: cls_u32: Specified hash table buckets exceed configured value.');
    const nodes = table.buckets[bucket];
    const id = handle & 0xfff || (nodes.length ? Math.max(...nodes.map((n) => n.id)) + 1 : FIRST_NODE);
    const linkHtid = s.link === undefined ? -1 : s.link >>> 20;
    if (linkHtid !== -1 && !tables.has(linkHtid)) throw rejected('Error: cls_u32: Link hash table not found.');
    const plain = s.keys.filter((k) => !k.nexthdr);
    const next = s.keys.filter((k) => k.nexthdr);
    nodes.push({
      id,
      keys: [...plain, ...next].flatMap((k) => [k.value, k.mask, k.off, ...maskedBytes(k.mask)]),
      markValue: s.mark?.value ?? 0,
      markMask: s.mark?.mask ?? 0,
      classid: this.fullClassid(s.classid),
      link: linkHtid,
      hashOff: s.hashkey?.off ?? 0,
      hashMask: s.hashkey?.mask ?? 0,
      hashShift: lowestSetBit(s.hashkey?.mask ?? 0),
      police: this.policeIndex(s.police),
    });
    nodes.sort((x, y) => x.id - y.id);
  }

  /**
   * The classid for the frame pkt[start, end) whose network header starts at `l3`, of
   * ethertype `proto`, with firewall mark `mark`; NO_MATCH if no filter classifies it.
   * Sets `lastPolice`.
   */
  classify(pkt: Uint8Array, start: number, l3: number, end: number, proto: number, mark: number): number {
    this.lastPolice = -1;
    for (const st of this.stages) {
      if (st.protocol !== ETH_P.all && st.protocol !== proto) continue;
      if (st.kind === 'all') {
        if (st.classid === NO_MATCH) continue;
        this.lastPolice = st.police;
        return st.classid;
      }
      if (st.kind === 'fw') {
        if ((mark & st.mask) >>> 0 !== st.mark || st.classid === NO_MATCH) continue;
        this.lastPolice = st.police;
        return st.classid;
      }
      const r = this.walk(this.tables.get(st.root)!.buckets[0], pkt, start, l3, end, mark, 0);
      if (r !== NO_MATCH) return r;
    }
    return NO_MATCH;
  }

  /** Tries `nodes` in order, descending through links; depth bounds a linking loop as the kernel's TC_U32_MAXDEPTH. */
  private walk(nodes: U32Node[], pkt: Uint8Array, start: number, l3: number, end: number, mark: number, depth: number): number {
    if (depth > 8) return NO_MATCH;
    next: for (const n of nodes) {
      const k = n.keys;
      for (let i = 0; i < k.length; i += KEY_WORDS) {
        const pos = l3 + k[i + 2];
        if (pos + k[i + 3] < start || pos + k[i + 4] >= end) return NO_MATCH;
        if ((wordAt(pkt, pos, start, end) & k[i + 1]) >>> 0 !== k[i]) continue next;
      }
      if ((mark & n.markMask) >>> 0 !== n.markValue) continue;
      if (n.link >= 0) {
        const t = this.tables.get(n.link)!;
        let b = 0;
        if (n.hashMask !== 0) {
          const pos = l3 + n.hashOff;
          if (pos < start || pos + 4 > end) return NO_MATCH;
          b = (((wordAt(pkt, pos, start, end) & n.hashMask) >>> 0) >>> n.hashShift) & (t.divisor - 1);
        }
        const r = this.walk(t.buckets[b], pkt, start, l3, end, mark, depth + 1);
        if (r !== NO_MATCH) return r;
        continue;
      }
      if (n.classid !== NO_MATCH) {
        this.lastPolice = n.police;
        return n.classid;
      }
    }
    return NO_MATCH;
  }
}
