/**
 * Leaf disciplines for classful schedulers, as tc attaches a qdisc to a class:
 *   sfq, fq_codel  the root scheduler of that kind holding the one class; all of a
 *                  scheduler's flow-queueing leaves share one pair of per-frame links;
 *   prio, drr, qfq (or any work-conserving kind) an inner classful scheduler with its own
 *                  classes: it reads a frame's class from the frame table's `sub` column
 *                  (the client's second classification, by the inner qdisc's filters).
 * A shaper (htb, tbf) inside a class would hold packets back from its parent, which then
 * needs the child's wake-up time; that is not supported yet and is refused.
 */
import { InvalidOptionError } from '../src/errors.js';
import type { LeafFactory } from './class-queues.js';
import { createFqCodel } from './fq-codel.js';
import { FlowLinks } from './flow-queues.js';
import { createSfq } from './sfq.js';
import type { FrameTable, SchedulerContext, SchedulerKind } from './types.js';

/**
 * How an inner kind is found by name: the registry hands its lookup over when it loads
 * (importing the registry here would close an import cycle through classful.ts).
 */
let findKind: ((kind: string) => SchedulerKind) | null = null;

export function registerLeafKinds(lookup: (kind: string) => SchedulerKind): void {
  findKind = lookup;
}

export function leafFactory(ctx: SchedulerContext): LeafFactory {
  let links: FlowLinks | null = null;
  return (slot, spec, drop) => {
    if (spec.kind === 'sfq' || spec.kind === 'fq_codel') {
      links ??= new FlowLinks(ctx.poolFrames);
      const leafCtx: SchedulerContext = { ...ctx, drop };
      const leaf = spec.kind === 'sfq' ? createSfq(leafCtx, spec.params, links) : createFqCodel(leafCtx, spec.params, links);
      leaf.addClass(slot);
      return leaf;
    }
    if (!findKind) throw new InvalidOptionError('leaf', 'scheduler kinds are not registered (import schedulers/registry.js)');
    const kind = findKind(spec.kind);
    if (!kind.workConserving) throw new InvalidOptionError('leaf', `a ${spec.kind} inside a class is not supported (a shaper as a child needs its wake-up time passed up)`);
    const f = ctx.frames;
    if (!f.sub) throw new InvalidOptionError('leaf', `an inner ${spec.kind} needs the frame table's sub column`);
    // The inner scheduler sees each frame's inner class as its class; it has no `sub` of its own.
    const view: FrameTable = { len: f.len, cls: f.sub, flow: f.flow, queuedAt: f.queuedAt, ...(f.markCe ? { markCe: (x: number) => f.markCe!(x) } : {}) };
    const inner = kind.create({ frames: view, poolFrames: ctx.poolFrames, maxClasses: ctx.maxClasses, drop }, spec.params);
    for (const c of spec.classes ?? []) inner.addClass(c.slot, c);
    return inner;
  };
}
