/**
 * A device tree written back as the tc commands that rebuild it — what `pspat config
 * dump` stores and `pspat daemon --config` replays: the root qdisc, classes parents
 * first, leaf qdiscs, then filters. Rates in bit, sizes in bytes: exact, not rounded.
 */
import { formatHandle, TC_H_ROOT } from './handles.js';
import type { ClassSpec, QdiscSpec } from './model.js';
import type { TcTree } from './tree.js';

function qdiscArgs(q: QdiscSpec): string {
  switch (q.kind) {
    case 'htb':
      return `htb default ${q.defaultClass.toString(16)} r2q ${q.r2q}${q.directQlen !== undefined ? ` direct_qlen ${q.directQlen}` : ''}`;
    case 'prio':
      return `prio bands ${q.bands} priomap ${q.priomap.join(' ')}`;
    case 'tbf':
      return `tbf rate ${q.rate}bit burst ${q.burst} limit ${q.limit}${q.peakrate ? ` peakrate ${q.peakrate}bit` : ''}${q.mtu ? ` mtu ${q.mtu}` : ''}`;
    case 'pfifo':
    case 'bfifo':
      return q.limit === undefined ? q.kind : `${q.kind} limit ${q.limit}`;
    case 'sfq':
      return `sfq perturb ${q.perturbS} limit ${q.limit} divisor ${q.divisor} flows ${q.flows} depth ${q.depth}${q.quantum !== undefined ? ` quantum ${q.quantum}` : ''}${q.headdrop ? ' headdrop' : ''}`;
    case 'fq_codel':
      return `fq_codel limit ${q.limit} flows ${q.flows} target ${q.targetUs}us interval ${q.intervalUs}us quantum ${q.quantum} ${q.ecn ? 'ecn' : 'noecn'} memory_limit ${q.memoryLimit} drop_batch ${q.dropBatch}${q.ceThresholdUs !== undefined ? ` ce_threshold ${q.ceThresholdUs}us` : ''}`;
    default:
      return q.kind;
  }
}

function classArgs(c: ClassSpec): string {
  switch (c.kind) {
    case 'htb':
      return `htb rate ${c.rate}bit ceil ${c.ceil}bit${c.burst !== undefined ? ` burst ${c.burst}` : ''}${c.cburst !== undefined ? ` cburst ${c.cburst}` : ''} prio ${c.prio}${c.quantum !== undefined ? ` quantum ${c.quantum}` : ''} mtu ${c.mtu} mpu ${c.mpu}${c.overhead ? ` overhead ${c.overhead}` : ''}`;
    case 'drr':
      return `drr${c.quantum !== undefined ? ` quantum ${c.quantum}` : ''}`;
    case 'qfq':
      return `qfq${c.weight !== undefined ? ` weight ${c.weight}` : ''}${c.maxpkt !== undefined ? ` maxpkt ${c.maxpkt}` : ''}`;
    default:
      return c.kind;
  }
}

function protocolArg(p: number): string {
  return p === 0x0003 ? 'all' : p === 0x0800 ? 'ip' : p === 0x86dd ? 'ipv6' : `0x${p.toString(16)}`;
}

export function treeCommands(t: TcTree): string[] {
  const dev = t.dev;
  const out = [`qdisc add dev ${dev} root handle ${formatHandle(t.root.handle)} ${qdiscArgs(t.root.qdisc)}`];
  const classes = [...t.classes.values()];
  if (t.root.qdisc.kind !== 'prio') {
    const depth = (id: number): number => {
      let d = 0;
      for (let p = t.classes.get(id)?.parent; p !== undefined && p !== t.root.handle; p = t.classes.get(p)?.parent) d++;
      return d;
    };
    for (const c of [...classes].sort((x, y) => depth(x.classid) - depth(y.classid) || x.classid - y.classid)) {
      out.push(`class add dev ${dev} parent ${formatHandle(c.parent)} classid ${formatHandle(c.classid)} ${classArgs(c.spec)}`);
    }
  }
  for (const c of classes) {
    if (c.leaf) out.push(`qdisc add dev ${dev} parent ${formatHandle(c.classid)} handle ${formatHandle(c.leaf.handle)} ${qdiscArgs(c.leaf.qdisc)}`);
  }
  for (const f of t.filters) {
    const parent = f.parent === TC_H_ROOT ? 'root' : `parent ${formatHandle(f.parent)}`;
    out.push(`filter add dev ${dev} ${parent} protocol ${protocolArg(f.protocol)} prio ${f.prio}${f.handle !== undefined ? ` handle ${f.handle}` : ''} ${f.args.join(' ')}`);
  }
  return out;
}
