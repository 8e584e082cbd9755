/**
 * The `tc` command lines that take pspat's model of a followed device from the kernel
 * configuration it last enforced to the one the kernel holds now (tc-decode.ts), touching
 * only what changed, so classes that stay keep their queued packets and their counters:
 *   1. filters of every parent whose filters changed are deleted (a class must lose its
 *      filters before it can go);
 *   2. classes and inner qdiscs that went or changed kind are deleted, newest first;
 *   3. the root qdisc's parameters, if only they changed (`replace`);
 *   4. classes and inner qdiscs that are new or changed, in creation order (`add`,
 *      `change` for a class, delete-and-add for an inner qdisc);
 *   5. the changed parents' filters, added again in the kernel's order.
 * A root qdisc of another kind or handle is rebuilt whole: deleted, then every line.
 */
import type { KernelConfig } from './tc-decode.js';

/** `qdisc add dev D root handle H: htb …` → its kind and handle, which a `replace` may not change. */
const rootIdentity = (line: string) => /root handle (\S+) (\S+)/.exec(line)?.slice(1).join(' ');
const same = (a: string[] | undefined, b: string[] | undefined) => JSON.stringify(a ?? []) === JSON.stringify(b ?? []);

/** The line that removes what `line` (a class or inner qdisc `add`) created. */
function deleteLine(dev: string, key: string, line: string): string {
  if (key.startsWith('class ')) return `class del dev ${dev} classid ${key.slice(6)}`;
  const parent = /parent (\S+)/.exec(line)![1];
  return `qdisc del dev ${dev} parent ${parent} handle ${key.slice(6)}`;
}

export function followCommands(dev: string, before: KernelConfig | null, after: KernelConfig | null): string[] {
  if (after === null) return before === null ? [] : [`qdisc del dev ${dev} root`];
  const everything = [after.root, ...after.items.values(), ...[...after.filters.values()].flat()];
  if (before === null) return everything;
  if (rootIdentity(before.root) !== rootIdentity(after.root)) return [`qdisc del dev ${dev} root`, ...everything];
  const out: string[] = [];
  const parents = [...new Set([...before.filters.keys(), ...after.filters.keys()])].filter((p) => !same(before.filters.get(p), after.filters.get(p)));
  for (const p of parents) if (before.filters.has(p)) out.push(`filter del dev ${dev} parent ${p}`);
  const gone = [...before.items].filter(([key, line]) => !after.items.has(key) || (key.startsWith('qdisc ') && after.items.get(key) !== line));
  for (const [key, line] of gone.reverse()) out.push(deleteLine(dev, key, line));
  if (before.root !== after.root) out.push(after.root.replace(/^qdisc add /, 'qdisc replace '));
  for (const [key, line] of after.items) {
    const old = before.items.get(key);
    if (old === line) continue;
    // A class present before is changed in place; anything else (new, or a qdisc deleted above) is added.
    out.push(old !== undefined && key.startsWith('class ') ? line.replace(/^class add /, 'class change ') : line);
  }
  for (const p of parents) out.push(...(after.filters.get(p) ?? []));
  return out;
}
