/**
 * One conformance suite over every registered scheduler: conservation, per-class FIFO
 * order, no dequeue from empty, work conservation, limit drops, class changes while
 * backlogged. Seeded fast-check properties over random operation sequences. Frames a
 * scheduler drops after accepting them (sfq's longest-flow drops, CoDel) come through its
 * drop sink with a reason and leave the model from wherever they were queued.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { schedulerKinds } from '../schedulers/registry.js';
import { DROP_AQM, DROP_NO_CLASS, DROP_QUEUE_LIMIT, ENQUEUED, type LeafSpec } from '../schedulers/types.js';
import { Harness, shareParams } from './helpers/sched-harness.js';

const CLASSES = 4;
const op = fc.oneof(
  fc.record({ kind: fc.constant('enq' as const), cls: fc.integer({ min: 0, max: CLASSES }), len: fc.integer({ min: 14, max: 2048 }) }),
  fc.record({ kind: fc.constant('deq' as const) }),
  fc.record({ kind: fc.constant('change' as const), cls: fc.integer({ min: 0, max: CLASSES - 1 }), weight: fc.integer({ min: 1, max: 50 }) }),
  fc.record({ kind: fc.constant('delete' as const), cls: fc.integer({ min: 0, max: CLASSES - 1 }) }),
);

/** Leaf disciplines for the variant that gives even classes fq_codel and odd ones sfq. */
function leafOf(c: number): LeafSpec {
  return c % 2 === 0 ? { kind: 'fq_codel', params: { limitPackets: 16 } } : { kind: 'sfq', params: { limitPackets: 16 } };
}

for (const { kind, workConserving, hashesFlows } of schedulerKinds()) {
  describe(`scheduler conformance: ${kind}`, () => {
    // Classful schedulers run the property twice: with FIFO classes, and with leaf disciplines.
    const variants = hashesFlows || kind === 'fifo' ? [false] : [false, true];
    for (const leafy of variants)
      it(`conserves packets, keeps per-class FIFO order, never serves an empty class${leafy ? ', with sfq/fq_codel leaves' : ''} (property)`, () => {
        fc.assert(
          fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
            const h = new Harness(kind, 512, CLASSES + 1, { limitPackets: 64 });
            const exists = new Set<number>();
            for (let c = 0; c < CLASSES; c++) {
              h.sched.addClass(c, { ...shareParams(kind, c + 1), limitPackets: 16, ...(leafy ? { leaf: leafOf(c) } : {}) });
              exists.add(c);
            }
            const model = new Map<number, number[]>(); // class → queued frames in order
            for (let c = 0; c <= CLASSES; c++) model.set(c, []);
            let inCount = 0,
              out = 0,
              dropped = 0;
            const settleDrops = () => {
              for (const { frame, reason } of h.sunk.splice(0)) {
                expect([DROP_QUEUE_LIMIT, DROP_AQM]).toContain(reason);
                const q = model.get(h.cls[frame])!;
                expect(q).toContain(frame);
                q.splice(q.indexOf(frame), 1);
                dropped++;
              }
            };
            for (const o of ops) {
              if (o.kind === 'enq') {
                const [f, v] = h.offer(o.cls, o.len);
                inCount++;
                if (!exists.has(o.cls)) expect(v).toBe(DROP_NO_CLASS);
                if (v === ENQUEUED) model.get(o.cls)!.push(f);
                else {
                  expect([DROP_NO_CLASS, DROP_QUEUE_LIMIT]).toContain(v);
                  dropped++;
                }
                settleDrops();
              } else if (o.kind === 'deq') {
                const backlog = h.sched.backlog;
                // Work conserving: something is always served when anything is queued. A
                // shaper may hold packets back, but must name a time it sends by (takeWaiting
                // throws if it does not).
                const f = workConserving ? h.take() : h.takeWaiting();
                settleDrops();
                if (backlog === 0) expect(f).toBe(-1);
                else {
                  expect(f).toBeGreaterThanOrEqual(0);
                  const q = model.get(h.cls[f])!;
                  expect(q[0]).toBe(f); // per-class FIFO order
                  q.shift();
                  out++;
                }
              } else if (o.kind === 'change' && exists.has(o.cls)) {
                h.sched.changeClass(o.cls, shareParams(kind, o.weight));
              } else if (o.kind === 'delete' && exists.has(o.cls)) {
                const evicted: number[] = [];
                h.sched.deleteClass(o.cls, (f) => {
                  evicted.push(f);
                  h.recycle(f);
                });
                expect(evicted).toEqual(model.get(o.cls));
                dropped += evicted.length;
                model.set(o.cls, []);
                exists.delete(o.cls);
              }
              const queued = [...model.values()].reduce((a, q) => a + q.length, 0);
              expect(h.sched.backlog).toBe(queued);
              expect(inCount).toBe(out + dropped + queued); // conservation
              for (const [c, q] of model) {
                expect(h.sched.backlogPackets(c)).toBe(q.length);
                expect(h.sched.backlogBytes(c)).toBe(q.reduce((a, f) => a + h.len[f], 0));
              }
            }
          }),
          { seed: 2026, numRuns: 200 },
        );
      });

    it('peek returns what dequeue returns next', () => {
      const h = new Harness(kind, 64, 2);
      h.sched.addClass(0, shareParams(kind, 1));
      h.sched.addClass(1, shareParams(kind, 3));
      for (let i = 0; i < 20; i++) h.offer(i % 2, 100 + i * 50);
      while (h.sched.backlog > 0) {
        let p = h.sched.peek();
        for (let waits = 0; p < 0 && !workConserving && waits < 10; waits++) {
          h.now = h.sched.wakeAt; // a shaper waiting for tokens
          p = h.sched.peek();
        }
        expect(p).toBeGreaterThanOrEqual(0);
        expect(h.sched.peek()).toBe(p);
        expect(h.take()).toBe(p);
      }
      expect(h.sched.peek()).toBe(-1);
    });

    it('refuses a duplicate class and an out-of-range slot, changing nothing', () => {
      const h = new Harness(kind, 8, 2);
      h.sched.addClass(0, shareParams(kind, 1));
      expect(() => h.sched.addClass(0, shareParams(kind, 1))).toThrow(/slot 0 already exists/);
      expect(() => h.sched.addClass(2, shareParams(kind, 1))).toThrow(/class: slot must be an integer in \[0, 1\], got 2/);
      expect(h.offer(0, 100)[1]).toBe(ENQUEUED);
    });
  });
}
