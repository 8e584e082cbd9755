/**
 * HTB as a shaper, in virtual time on a 1 Gbit/s link (the harness's clock): assured
 * rates, ceilings, borrowing by quantum, priorities, burst after idle, no delay under the
 * rate, bad input refused without a change, and a property over random class trees.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { HtbScheduler } from '../schedulers/htb.js';
import { DROP_NO_CLASS, ENQUEUED, type ClassParams } from '../schedulers/types.js';
import { Rng } from '../src/random.js';
import { Harness } from './helpers/sched-harness.js';

const M = 1e6;

/** A harness with classes added in order (parents first). */
function tree(classes: Array<[number, ClassParams]>, maxClasses = 16): Harness {
  const h = new Harness('htb', 4096, maxClasses);
  for (const [slot, params] of classes) h.sched.addClass(slot, { limitPackets: 64, ...params });
  return h;
}

/** Keeps `leaves` backlogged for `seconds` of link time; returns the bit rate each got. */
function saturateFor(h: Harness, leaves: number[], seconds: number, seed = 1): Map<number, number> {
  const rng = new Rng(seed);
  const bytes = new Map(leaves.map((c) => [c, 0]));
  const start = h.now;
  for (const c of leaves) for (let i = 0; i < 8; i++) h.offer(c, rng.int(64, 1500));
  while (h.now - start < seconds * 1e9) {
    const f = h.takeWaiting();
    const c = h.cls[f];
    bytes.set(c, bytes.get(c)! + h.len[f]);
    h.offer(c, rng.int(64, 1500));
  }
  const elapsed = (h.now - start) / 1e9;
  return new Map([...bytes].map(([c, b]) => [c, (b * 8) / elapsed]));
}

function expectRate(measured: number | undefined, expected: number, tolerance = 0.01): void {
  expect(Math.abs(measured! / expected - 1)).toBeLessThan(tolerance);
}

describe('htb shaping', () => {
  it('holds each class to its rate within 1% when it cannot borrow', () => {
    const h = tree([
      [0, { rate: 10 * M }],
      [1, { rate: 25 * M }],
      [2, { rate: 50 * M }],
    ]);
    const r = saturateFor(h, [0, 1, 2], 2);
    expectRate(r.get(0), 10 * M);
    expectRate(r.get(1), 25 * M);
    expectRate(r.get(2), 50 * M);
  });

  it('lets a class borrow its parent’s leftover up to its ceil, never past it', () => {
    const h = tree([
      [9, { rate: 100 * M }],
      [0, { parent: 9, rate: 10 * M, ceil: 30 * M }],
      [1, { parent: 9, rate: 10 * M, ceil: 100 * M }],
    ]);
    const r = saturateFor(h, [0, 1], 2);
    expectRate(r.get(0), 30 * M);
    expectRate(r.get(1), 70 * M);
  });

  it('shares the leftover by quantum: by default in proportion to rate (quantum = rate / r2q)', () => {
    // Quanta 50 kB and 150 kB: below the 200 kB at which tc's default quantum stops growing.
    const h = tree([
      [9, { rate: 40 * M }],
      [0, { parent: 9, rate: 4 * M, ceil: 40 * M }],
      [1, { parent: 9, rate: 12 * M, ceil: 40 * M }],
    ]);
    const r = saturateFor(h, [0, 1], 2);
    expectRate(r.get(0), 10 * M); // 4 + 24 × 1/4
    expectRate(r.get(1), 30 * M); // 12 + 24 × 3/4
    const q = tree([
      [9, { rate: 100 * M }],
      [0, { parent: 9, rate: 10 * M, ceil: 100 * M, quantum: 4500 }],
      [1, { parent: 9, rate: 30 * M, ceil: 100 * M, quantum: 1500 }],
    ]);
    const rq = saturateFor(q, [0, 1], 2);
    expectRate(rq.get(0), 55 * M); // 10 + 60 × 3/4
    expectRate(rq.get(1), 45 * M); // 30 + 60 × 1/4
  });

  it('lends to the higher priority first; a lower one keeps only its own rate', () => {
    const h = tree([
      [9, { rate: 100 * M }],
      [0, { parent: 9, rate: 10 * M, ceil: 100 * M, prio: 1 }],
      [1, { parent: 9, rate: 10 * M, ceil: 100 * M, prio: 0 }],
    ]);
    const r = saturateFor(h, [0, 1], 2);
    expectRate(r.get(0), 10 * M);
    expectRate(r.get(1), 90 * M);
  });

  it('shares a grandparent between two subtrees by quantum, through both levels', () => {
    const h = tree([
      [9, { rate: 120 * M }],
      [7, { parent: 9, rate: 10 * M, ceil: 120 * M }],
      [8, { parent: 9, rate: 10 * M, ceil: 120 * M }],
      [0, { parent: 7, rate: 5 * M, ceil: 120 * M, quantum: 1500 }],
      [1, { parent: 7, rate: 5 * M, ceil: 120 * M, quantum: 1500 }],
      [2, { parent: 8, rate: 5 * M, ceil: 120 * M, quantum: 1500 }],
    ]);
    const r = saturateFor(h, [0, 1, 2], 2);
    const total = [...r.values()].reduce((a, b) => a + b, 0);
    expectRate(total, 120 * M);
    // Subtree 7 (two leaves) and subtree 8 (one) take turns at the top: 60 Mbit/s each.
    expectRate(r.get(0)! + r.get(1)!, 60 * M, 0.02);
    expectRate(r.get(2), 60 * M, 0.02);
  });

  it('after an idle spell sends at most its burst above its rate, and all of it', () => {
    const burst = 15_000;
    const h = tree([[0, { rate: 10 * M, burst, cburst: burst }]]);
    h.now = 1e9; // idle for 1 s: 1.25 MB at the rate, but the bucket holds only `burst`
    let sent = 0;
    for (let i = 0; i < 40; i++) h.offer(0, 1000);
    while (h.now < 1e9 + 1e6) {
      const f = h.takeWaiting();
      if (h.now <= 1e9 + 1e6) sent += h.len[f];
    }
    // In 1 ms: the burst, plus 1 ms at 10 Mbit/s (1250 B), plus the packet that overdraws.
    expect(sent).toBeLessThanOrEqual(burst + 1250 + 1000);
    expect(sent).toBeGreaterThanOrEqual(burst);
  });

  it('does not delay a class that stays under its rate', () => {
    const h = tree([[0, { rate: 10 * M }]]);
    for (let k = 1; k <= 200; k++) {
      h.now = Math.max(h.now, k * 1e6); // a 1000 B packet each ms: 8 Mbit/s
      h.offer(0, 1000);
      const at = h.now;
      expect(h.take()).toBeGreaterThanOrEqual(0);
      expect(at).toBe(k * 1e6);
    }
  });

  it('counts overlimits, lends and borrows as tc -s shows them', () => {
    const h = tree([
      [9, { rate: 100 * M }],
      [0, { parent: 9, rate: 10 * M, ceil: 50 * M }],
    ]);
    saturateFor(h, [0], 0.1);
    const s = (h.sched as HtbScheduler).classStats(0);
    expect(s.lends).toBeGreaterThan(0); // sent on its own rate
    expect(s.borrows).toBeGreaterThan(s.lends); // 40 of its 50 Mbit/s borrowed
    expect(s.overlimits).toBeGreaterThan(0);
  });

  it("counts each packet as the class's link layer carries it (tc's overhead, mpu, linklayer atm): what gets through is the rate over that", () => {
    // Fixed 100-byte packets: with overhead 100 a class charges 200 each; on ATM, 100 + 44
    // bytes are 3 cells, 159; an mpu of 400 charges 400. Each passes its rate × 100 / charged.
    const h = tree([
      [0, { rate: 10 * M, overhead: 100 }],
      [1, { rate: 10 * M, overhead: 44, atm: true }],
      [2, { rate: 10 * M, mpu: 400 }],
      [3, { rate: 10 * M }],
    ]);
    const bytes = new Map([0, 1, 2, 3].map((c) => [c, 0]));
    for (const c of bytes.keys()) for (let i = 0; i < 8; i++) h.offer(c, 100);
    const start = h.now;
    while (h.now - start < 2e9) {
      const f = h.takeWaiting();
      bytes.set(h.cls[f], bytes.get(h.cls[f])! + h.len[f]);
      h.offer(h.cls[f], 100);
    }
    const rate = (c: number) => (bytes.get(c)! * 8) / ((h.now - start) / 1e9);
    expectRate(rate(0), (10 * M * 100) / 200);
    expectRate(rate(1), (10 * M * 100) / 159);
    expectRate(rate(2), (10 * M * 100) / 400);
    expectRate(rate(3), 10 * M);
  });

  it('refuses bad classes with the field named and changes nothing', () => {
    const h = tree([[0, { rate: 10 * M }]]);
    expect(() => h.sched.addClass(1, {})).toThrow('rate: an htb class needs a rate');
    expect(() => h.sched.addClass(1, { rate: -5 })).toThrow('rate: must be a rate in (0, 1000000000000000] bit/s, got -5');
    expect(() => h.sched.addClass(1, { rate: 1e6, parent: 5 })).toThrow('parent: class slot 5 does not exist');
    expect(() => h.sched.addClass(1, { rate: 1e6, prio: 8 })).toThrow('prio: must be an integer in [0, 7], got 8');
    expect(() => h.sched.changeClass(0, { parent: 3 })).toThrow('parent: an htb class cannot move to another parent (slot 0)');
    h.offer(0, 500);
    expect(() => h.sched.addClass(1, { rate: 1e6, parent: 0 })).toThrow('class slot 0 has 1 queued packets and cannot become a parent');
    expect(h.sched.hasClass(1)).toBe(false);
    expect(h.takeWaiting()).toBeGreaterThanOrEqual(0);
    h.sched.addClass(1, { rate: 1e6, parent: 0 });
    expect(h.offer(0, 100)[1]).toBe(DROP_NO_CLASS); // an inner class has no queue
    expect(h.offer(1, 100)[1]).toBe(ENQUEUED);
    expect(() => h.sched.deleteClass(0, h.recycle)).toThrow('class slot 0 has 1 child classes; delete them first');
    expect(h.takeWaiting()).toBeGreaterThanOrEqual(0);
    // Eight levels at most, as tc's htb.
    let parent = 1;
    for (let slot = 2; slot < 8; slot++) {
      h.sched.addClass(slot, { rate: 1e6, parent });
      parent = slot;
    }
    expect(() => h.sched.addClass(8, { rate: 1e6, parent: 7 })).toThrow('parent: the class tree would be deeper than 8 levels');
  });

  it('turns a parent whose last child is deleted back into a leaf', () => {
    const h = tree([
      [0, { rate: 10 * M }],
      [1, { parent: 0, rate: 5 * M }],
    ]);
    h.sched.deleteClass(1, h.recycle);
    expect(h.offer(0, 100)[1]).toBe(ENQUEUED);
    expect(h.takeWaiting()).toBeGreaterThanOrEqual(0);
  });
});

describe('htb over random class trees (property)', () => {
  it('conserves packets, keeps FIFO order, and no leaf ever exceeds ceil·t + cburst + one packet', () => {
    const classSpec = fc.record({
      parentPick: fc.nat(),
      rate: fc.integer({ min: 1, max: 200 }),
      ceilExtra: fc.integer({ min: 0, max: 300 }),
      prio: fc.integer({ min: 0, max: 2 }),
    });
    fc.assert(
      fc.property(fc.array(classSpec, { minLength: 1, maxLength: 10 }), fc.array(fc.nat(), { minLength: 50, maxLength: 400 }), (specs, script) => {
        const h = new Harness('htb', 1024, specs.length);
        const parent: number[] = [];
        specs.forEach((s, slot) => {
          // Any earlier class may be the parent (if it may still take a child), or none.
          const candidates = [-1, ...parent.keys()].filter((p) => p < 0 || depthOf(parent, p) < 6);
          const p = candidates[s.parentPick % candidates.length];
          const rate = s.rate * M;
          h.sched.addClass(slot, { rate, ceil: rate + s.ceilExtra * M, prio: s.prio, limitPackets: 32, ...(p >= 0 ? { parent: p } : {}) });
          parent.push(p);
        });
        const leaves = specs.map((_, c) => c).filter((c) => !parent.includes(c));
        const model = new Map(leaves.map((c) => [c, [] as number[]]));
        const through = new Array(specs.length).fill(0); // bytes sent through each class
        let offered = 0,
          sent = 0,
          dropped = 0;
        for (const step of script) {
          if (step % 3 !== 0) {
            const c = leaves[step % leaves.length];
            const [f, v] = h.offer(c, 64 + (step % 1437));
            offered++;
            if (v === ENQUEUED) model.get(c)!.push(f);
            else dropped++;
            continue;
          }
          if (h.sched.backlog === 0) continue;
          const f = h.takeWaiting();
          const c = h.cls[f];
          expect(model.get(c)!.shift()).toBe(f);
          sent++;
          // Only leaves: a leaf's own rate is assured even past its ancestors' ceilings
          // (as in Linux) when the children's rates add up to more than the parent's ceil.
          through[c] += h.len[f];
          const ceil = (specs[c].rate + specs[c].ceilExtra) * M;
          const cburst = Math.ceil(ceil / 8e9) + 1600;
          expect(through[c]).toBeLessThanOrEqual((ceil * h.now) / 8e9 + cburst + 1500);
        }
        const queued = [...model.values()].reduce((a, q) => a + q.length, 0);
        expect(h.sched.backlog).toBe(queued);
        expect(offered).toBe(sent + dropped + queued);
      }),
      { seed: 4, numRuns: 150 },
    );
  });
});

function depthOf(parent: number[], c: number): number {
  let d = 0;
  for (let a = c; a >= 0; a = parent[a]) d++;
  return d;
}
