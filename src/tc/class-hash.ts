/**
 * The order in which the kernel lists a qdisc's classes (`tc class show`): htb, drr and
 * qfq keep their classes in a `Qdisc_class_hash` (net/sched/sch_api.c), and a dump walks
 * its buckets in order. A class goes to the head of bucket `hash(classid) & mask`; the
 * table starts with 4 buckets and doubles when more than three quarters full, moving each
 * class, bucket by bucket, to the head of its new bucket; it never shrinks. The order is
 * therefore a function of the history of adds and deletes, which this replays.
 */

export interface ClassHash {
  /** Bucket count: 4, doubled as the table grows. */
  readonly size: number;
  /** Classes per bucket, head first. */
  readonly buckets: readonly (readonly number[])[];
}

export const EMPTY_CLASS_HASH: ClassHash = { size: 4, buckets: [[], [], [], []] };

/** qdisc_class_hash: folds the class id's bytes and nibbles onto the mask. */
function bucketOf(classid: number, mask: number): number {
  let id = classid >>> 0;
  id ^= id >>> 8;
  id ^= id >>> 4;
  return id & mask;
}

function count(h: ClassHash): number {
  return h.buckets.reduce((n, b) => n + b.length, 0);
}

/** `h` with `classid` added (at the head of its bucket), grown as the kernel grows it. */
export function hashInsert(h: ClassHash, classid: number): ClassHash {
  const buckets = h.buckets.map((b) => [...b]);
  buckets[bucketOf(classid, h.size - 1)].unshift(classid);
  let grown: ClassHash = { size: h.size, buckets };
  if (count(grown) * 4 > grown.size * 3) {
    const size = grown.size * 2;
    const next: number[][] = Array.from({ length: size }, () => []);
    for (const b of grown.buckets) for (const c of b) next[bucketOf(c, size - 1)].unshift(c);
    grown = { size, buckets: next };
  }
  return grown;
}

export function hashRemove(h: ClassHash, classid: number): ClassHash {
  return { size: h.size, buckets: h.buckets.map((b) => b.filter((c) => c !== classid)) };
}

/** The classes in the order a dump lists them. */
export function hashOrder(h: ClassHash): number[] {
  return h.buckets.flat();
}
