/**
 * Leaf disciplines for classful schedulers: an sfq or fq_codel in place of a class's FIFO,
 * as tc attaches a qdisc to a class. Each is the root scheduler of that kind holding the
 * one class; all of a scheduler's leaves share one pair of per-frame link arrays.
 */
import type { LeafFactory } from './class-queues.js';
import { createFqCodel } from './fq-codel.js';
import { FlowLinks } from './flow-queues.js';
import { createSfq } from './sfq.js';
import type { SchedulerContext } from './types.js';

export function leafFactory(ctx: SchedulerContext): LeafFactory {
  let links: FlowLinks | null = null;
  return (slot, spec, drop) => {
    links ??= new FlowLinks(ctx.poolFrames);
    const leafCtx: SchedulerContext = { ...ctx, drop };
    const leaf = spec.kind === 'sfq' ? createSfq(leafCtx, spec.params, links) : createFqCodel(leafCtx, spec.params, links);
    leaf.addClass(slot);
    return leaf;
  };
}
