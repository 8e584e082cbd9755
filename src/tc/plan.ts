/**
 * One tc command against the trees of every managed device: the new trees and the link
 * operations that realise them, or a pass-through for a device pspat does not manage.
 * Nothing is mutated: the daemon commits the new trees only once the arbiter has
 * accepted every operation.
 */
import { diffLinkConfig, type LinkOp } from './config-diff.js';
import { TcError, TC_EXIT_REJECTED } from './errors.js';
import { TC_H_ROOT } from './handles.js';
import type { ClassCommand, FilterCommand, PassThrough, QdiscCommand, QdiscSpec } from './model.js';
import type { DeviceFacts } from '../net/device.js';
import { kindOf } from './kinds/index.js';
import { applyClass, applyFilter, applyQdisc, createTree, htbQuantum, linkConfig, type LinkConfig, type TcTree } from './tree.js';

export interface Plan {
  dev: string;
  /** The device's tree after the command; null once its root qdisc is deleted. */
  tree: TcTree | null;
  /** What the link runs for that tree (null with it). */
  config: LinkConfig | null;
  ops: LinkOp[];
  /** What the kernel would say on stderr and still do (htb's quantum clamped). */
  warnings: string[];
}

export interface DeviceDefaults {
  /** The link rate of a device that becomes managed with root qdisc `root`, bit/s. */
  linkRate(dev: string, root: QdiscSpec): number;
  /** The device's queues, txqueuelen and MTU, read when it becomes managed. */
  device(dev: string): DeviceFacts;
  maxClasses: number;
}

export function planCommand(
  trees: ReadonlyMap<string, TcTree>,
  cmd: QdiscCommand | ClassCommand | FilterCommand,
  defaults: DeviceDefaults,
): Plan | PassThrough {
  const before = trees.get(cmd.dev) ?? null;
  const after = nextTree(before, cmd, defaults);
  if (after === 'unmanaged') return { passthrough: true, reason: `${cmd.dev} is not managed by pspat` };
  const config = after && linkConfig(after);
  return { dev: cmd.dev, tree: after, config, ops: diffLinkConfig(before && linkConfig(before), config), warnings: warningsOf(after, cmd) };
}

/** sch_htb's warning for a class whose default quantum (rate / r2q) it had to clamp. */
function warningsOf(tree: TcTree | null, cmd: QdiscCommand | ClassCommand | FilterCommand): string[] {
  if (tree === null || cmd.object !== 'class' || cmd.cls?.kind !== 'htb') return [];
  const c = [...tree.classes.values()].find((x) => x.spec === cmd.cls);
  const warning = c && htbQuantum(tree, c, cmd.cls).warning;
  return warning ? [warning] : [];
}

/** A change of the root, or a replace with the same kind and handle: refused for a kind the kernel cannot change in place. */
function changeRoot(tree: TcTree, cmd: QdiscCommand): TcTree {
  if (kindOf(tree.root.qdisc.kind).noChange && cmd.qdisc?.kind === tree.root.qdisc.kind) {
    throw new TcError(TC_EXIT_REJECTED, 'Error: Change operation not supported by specified qdisc.');
  }
  return applyQdisc(tree, cmd);
}

function nextTree(tree: TcTree | null, cmd: QdiscCommand | ClassCommand | FilterCommand, d: DeviceDefaults): TcTree | null | 'unmanaged' {
  if (cmd.object === 'qdisc' && cmd.parent === TC_H_ROOT) {
    switch (cmd.verb) {
      case 'add':
        if (tree) throw new TcError(TC_EXIT_REJECTED, 'Error: Exclusivity flag on, cannot modify.');
        return createTree(cmd, d.linkRate(cmd.dev, cmd.qdisc!), d.maxClasses, d.device(cmd.dev));
      case 'replace':
        if (tree && cmd.qdisc?.kind === tree.root.qdisc.kind && (cmd.handle === undefined || cmd.handle === tree.root.handle)) return changeRoot(tree, cmd);
        return createTree(cmd, tree?.linkRate ?? d.linkRate(cmd.dev, cmd.qdisc!), d.maxClasses, tree?.device ?? d.device(cmd.dev));
      case 'change':
        return tree ? changeRoot(tree, cmd) : 'unmanaged';
      case 'delete':
        return tree ? null : 'unmanaged';
    }
  }
  if (!tree) return 'unmanaged';
  if (cmd.object === 'qdisc') return applyQdisc(tree, cmd);
  if (cmd.object === 'class') return applyClass(tree, cmd);
  return applyFilter(tree, cmd);
}
