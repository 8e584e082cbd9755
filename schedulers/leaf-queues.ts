/**
 * Leaf disciplines for classful schedulers, as tc attaches a qdisc to a class:
 *   sfq, fq_codel  the root scheduler of that kind holding the one class; all of a
 *                  scheduler's flow-queueing leaves share one pair of per-frame links;
 *   prio, drr, qfq (or any work-conserving kind) an inner classful scheduler with its own
 *                  classes: it reads a frame's class from the frame table's `sub` column
 *                  (the client's second classification, by the inner qdisc's filters).
 * A shaper (htb; tbf is a one-class htb) inside a class holds packets back while out of
 * tokens: its parent's class then sleeps until the shaper's `wakeAt` (class-queues.ts),
 * and the parent's own `wakeAt` includes it, so the arbiter idles the link until then.
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
      return { queue: leaf, shapes: false };
    }
    if (!findKind) throw new InvalidOptionError('leaf', 'scheduler kinds are not registered (import schedulers/registry.js)');
    const kind = findKind(spec.kind);
    const f = ctx.frames;
    if (!f.sub) throw new InvalidOptionError('leaf', `an inner ${spec.kind} needs the frame table's sub column`);
    // The inner scheduler sees each frame's inner class as its class; it has no `sub` of its own.
    const view: FrameTable = { len: f.len, cls: f.sub, flow: f.flow, queuedAt: f.queuedAt, ...(f.markCe ? { markCe: (x: number) => f.markCe!(x) } : {}) };
    const inner = kind.create({ frames: view, clock: ctx.clock, poolFrames: ctx.poolFrames, maxClasses: ctx.maxClasses, drop }, spec.params);
    for (const c of spec.classes ?? []) inner.addClass(c.slot, c);
    // Its classes report their own counters (tc -s class show 20:1); see ClassfulScheduler.
    (inner as { countClasses?: () => void }).countClasses?.();
    // A shaper (htb) may hold packets back: the parent then lets its class sleep until inner.wakeAt.
    return { queue: inner, shapes: !kind.workConserving };
  };
}
