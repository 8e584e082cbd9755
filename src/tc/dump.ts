/**
 * A device tree written back as the tc commands that rebuild it — what `pspat config
 * dump` stores and `pspat daemon --config` replays: the root qdisc, classes parents
 * first, leaf qdiscs, then filters. Rates in bit, sizes in bytes: exact, not rounded.
 */
import { formatHandle, TC_H_ROOT } from './handles.js';
import { protocolName, type ClassSpec, type QdiscSpec } from './model.js';
import type { TcTree } from './tree.js';
import { classKindOf, kindOf } from './kinds/index.js';
import { stabWords } from './stab.js';

export function qdiscArgs(q: QdiscSpec): string {
  return kindOf(q.kind).dump(q);
}

/** A class's words from its kind on: its qdisc kind's (prio's bands and tbf's class are made with their qdisc, never written). */
export function classArgs(c: ClassSpec): string {
  return classKindOf(c)?.dump(c) ?? c.kind;
}

/**
 * In an order tc accepts: a class after its qdisc and its parent class, a class's qdisc
 * after the class, an inner qdisc's classes after it (prio's bands come with their qdisc),
 * filters last, when every qdisc and class they name exists.
 */
export function treeCommands(t: TcTree): string[] {
  const dev = t.dev;
  const est = (e: [string, string] | undefined) => (e ? ` estimator ${e[0]} ${e[1]}` : '');
  const stab = t.root.stab ? stabWords(t.root.stab) : [];
  const out = [
    `qdisc add dev ${dev} root handle ${formatHandle(t.root.handle)}${est(t.root.estimator)}${stab.map((w) => ` ${w}`).join('')} ${qdiscArgs(t.root.qdisc)}`,
  ];
  const qdiscs = new Set([t.root.handle]);
  const done = new Set<number>();
  const classes = [...t.classes.values()].sort((x, y) => x.classid - y.classid);
  for (let progress = true; progress; ) {
    progress = false;
    for (const c of classes) {
      if (!done.has(c.classid) && qdiscs.has(c.owner) && (c.parent === c.owner || done.has(c.parent))) {
        if (classKindOf(c.spec))
          out.push(`class add dev ${dev} parent ${formatHandle(c.parent)} classid ${formatHandle(c.classid)}${est(c.estimator)} ${classArgs(c.spec)}`);
        done.add(c.classid);
        progress = true;
      }
      if (done.has(c.classid) && c.leaf && !qdiscs.has(c.leaf.handle)) {
        out.push(`qdisc add dev ${dev} parent ${formatHandle(c.classid)} handle ${formatHandle(c.leaf.handle)} ${qdiscArgs(c.leaf.qdisc)}`);
        qdiscs.add(c.leaf.handle);
        progress = true;
      }
    }
  }
  for (const f of t.filters) {
    const parent = f.parent === TC_H_ROOT ? 'root' : `parent ${formatHandle(f.parent)}`;
    out.push(
      `filter add dev ${dev} ${parent} protocol ${protocolName(f.protocol)} prio ${f.prio}${f.handle !== undefined ? ` handle ${f.handle}` : ''} ${f.args.join(' ')}`,
    );
  }
  return out;
}
