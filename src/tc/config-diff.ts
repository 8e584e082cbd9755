/**
 * Two link configurations (tree.ts's `linkConfig`) → the operations that turn the running
 * link from one into the other, in an order the scheduler accepts: classes removed
 * deepest first, added parents first, the rest changed in place (their queued packets
 * stay). A different scheduler or root parameters means a new link.
 */
import type { ClassParams } from '../../schedulers/types.js';
import type { LinkConfig } from './tree.js';

export type LinkOp =
  | { op: 'createLink'; config: LinkConfig }
  | { op: 'deleteLink' }
  | { op: 'addClass'; slot: number; params: ClassParams }
  | { op: 'changeClass'; slot: number; params: ClassParams }
  | { op: 'deleteClass'; slot: number }
  | { op: 'setClassifier'; config: LinkConfig };

function depth(classes: Map<number, ClassParams>, slot: number): number {
  let d = 0;
  for (let p = classes.get(slot)?.parent; p !== undefined; p = classes.get(p)?.parent) d++;
  return d;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export function diffLinkConfig(before: LinkConfig | null, after: LinkConfig | null): LinkOp[] {
  if (after === null) return before === null ? [] : [{ op: 'deleteLink' }];
  if (before === null || before.scheduler !== after.scheduler || !same(before.rootParams, after.rootParams)) {
    return [...(before === null ? [] : [{ op: 'deleteLink' } as const]), { op: 'createLink', config: after }, { op: 'setClassifier', config: after }];
  }
  const ops: LinkOp[] = [];
  const removed = [...before.classes.keys()].filter((s) => !after.classes.has(s));
  removed.sort((x, y) => depth(before.classes, y) - depth(before.classes, x));
  for (const slot of removed) ops.push({ op: 'deleteClass', slot });
  const added = [...after.classes.keys()].filter((s) => !before.classes.has(s));
  added.sort((x, y) => depth(after.classes, x) - depth(after.classes, y));
  for (const slot of added) ops.push({ op: 'addClass', slot, params: after.classes.get(slot)! });
  for (const [slot, params] of after.classes) {
    const old = before.classes.get(slot);
    if (!old || same(old, params)) continue;
    // A leaf discipline that went away must be named gone: an absent `leaf` means "unchanged".
    ops.push({ op: 'changeClass', slot, params: old.leaf && !params.leaf ? { ...params, leaf: null } : params });
  }
  ops.push({ op: 'setClassifier', config: after });
  return ops;
}
