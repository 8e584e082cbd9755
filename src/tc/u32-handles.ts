/**
 * The handles the kernel's u32 classifier gives its filters (net/sched/cls_u32.c), which
 * `filter show` prints and `filter del|change|replace ... handle 800::800` names:
 *
 *   - each priority of u32 filters on a qdisc has a root hash table of its own: the first
 *     ever on the qdisc is 800:, later ones take table ids in turn (801:, 802:, …, never
 *     reusing one while any u32 filter is left on the qdisc);
 *   - a node's handle is table:bucket:node; the node id is the lowest free one from 800 in
 *     its table (800, 801, …) unless the command gave `handle`;
 *   - `handle X: … divisor N` makes hash table X: (the command names it).
 *
 * The classifier (classifier.ts) keeps its own numbering of each priority's tables; these
 * handles are the kernel's names for the same filters.
 */
import { parseU32Handle, u32HandleValue } from './handles.js';
import type { TcFilter, TcTree } from './tree.js';

/** The first root table's id; later ones are this | n for n = 1, 2, … (gen_new_htid). */
export const U32_FIRST_TABLE = 0x800;
const FIRST_NODE = 0x800;
const MAX_TABLE_ID = 0x7ff;

/** A u32 handle as written (800::800, 1:) as a number. */
export function u32HandleOf(text: string): number {
  return u32HandleValue(parseU32Handle(text));
}

/**
 * Where the kernel puts new u32 filter `f` in `tree`: its handle, its priority's root table,
 * and the qdisc's next root table id afterwards.
 */
export function placeU32(tree: TcTree, f: TcFilter): { u32: { fh: number; root: number }; next: number } {
  const s = f.spec;
  if (s.kind !== 'u32') throw new TypeError('placeU32: not a u32 filter');
  const siblings = tree.filters.filter((x) => x.parent === f.parent && x.u32);
  const group = siblings.filter((x) => x.prio === f.prio);
  let next = tree.u32NextTable.get(f.parent) ?? 0;
  let root = group[0]?.u32?.root; // siblings all have u32 (filtered above)
  if (root === undefined) {
    if (siblings.length === 0) {
      root = U32_FIRST_TABLE;
      next = 1;
    } else {
      const taken = new Set(siblings.map((x) => x.u32!.root));
      for (let tries = 0; tries < MAX_TABLE_ID && taken.has(U32_FIRST_TABLE | next); tries++) next = next >= MAX_TABLE_ID ? 1 : next + 1;
      root = U32_FIRST_TABLE | next;
      next = next >= MAX_TABLE_ID ? 1 : next + 1;
    }
  }
  if (s.divisor !== undefined) return { u32: { fh: (s.handle ?? 0) & 0xfff00000, root }, next };
  // The node's table and bucket: `ht`, else the handle's, else the priority's root table.
  const place = s.ht ?? ((s.handle ?? 0) >>> 20 ? (s.handle ?? 0) & 0xfffff000 : 0);
  const table = place >>> 20 || root;
  const bucket = (place >>> 12) & 0xff;
  let node = (s.handle ?? 0) & 0xfff;
  if (node === 0) {
    // Tables are the qdisc's: a node another priority put in this one takes its id.
    const used = new Set(siblings.filter((x) => x.u32!.fh >>> 20 === table).map((x) => x.u32!.fh & 0xfff));
    for (node = FIRST_NODE; used.has(node); node++);
  }
  return { u32: { fh: ((table << 20) | (bucket << 12) | node) >>> 0, root }, next };
}
