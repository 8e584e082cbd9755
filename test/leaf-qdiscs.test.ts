/**
 * sfq and fq_codel as leaf disciplines of a class (tc: `qdisc add ... parent 1:10 sfq`):
 * inside one shaped class, a light flow is isolated from a heavy one, where the class's
 * default FIFO makes it wait behind the heavy flow's queue; changing a backlogged class's
 * leaf loses nothing and keeps each flow in order.
 */
import { describe, expect, it } from 'vitest';
import type { ClassParams, LeafSpec } from '../schedulers/types.js';
import { ENQUEUED } from '../schedulers/types.js';
import { Histogram } from '../src/stats/histogram.js';
import { Harness } from './helpers/sched-harness.js';

const HEAVY = 11;
const LIGHT = 22;
const LINK = 1e8;

/**
 * One class of `kind` shaped (htb) or weighted (drr) on a 100 Mbit/s link, fed 2 s of a
 * heavy flow at twice the class's 10 Mbit/s and a light flow of 200 B every 4 ms; returns
 * the light flow's delays and the accounting.
 */
function run(kind: 'htb' | 'drr', leaf: LeafSpec | undefined) {
  const h = new Harness(kind, 8192, 2, {}, LINK);
  const cls: ClassParams = kind === 'htb' ? { rate: 1e7, ceil: 1e7 } : { weight: 1 };
  h.sched.addClass(0, { ...cls, ...(leaf ? { leaf } : {}) });
  // drr: a second, always-busy class takes the other 90% of the link.
  if (kind === 'drr') h.sched.addClass(1, { quantum: 9 * 1514 });
  const light = new Histogram();
  let offered = 0;
  let refused = 0;
  let sent = 0;
  let nextHeavy = 0;
  let nextLight = 0;
  const heavyGap = (1500 * 8e9) / 2e7;
  const end = 2e9;
  while (h.now < end) {
    for (; nextHeavy <= h.now; nextHeavy += heavyGap) {
      offered++;
      if (h.offer(0, 1500, HEAVY)[1] !== ENQUEUED) refused++;
    }
    for (; nextLight <= h.now; nextLight += 4e6) {
      offered++;
      if (h.offer(0, 200, LIGHT)[1] !== ENQUEUED) refused++;
    }
    if (kind === 'drr' && h.sched.backlogPackets(1) < 4) h.offer(1, 1500, 33);
    const before = h.now;
    const f = h.takeWaiting(10_000);
    if (f < 0) {
      h.now = Math.min(nextHeavy, nextLight);
      continue;
    }
    if (h.cls[f] !== 0) continue; // class 1's filler is not counted
    sent++;
    if (h.flow[f] === LIGHT) light.record(before - h.queuedAt[f]);
  }
  const sunk = h.sunk.filter((s) => s.cls === 0).length;
  return { light, offered, sent, refused, sunk, queued: h.sched.backlogPackets(0) };
}

describe('leaf disciplines on a class', () => {
  for (const kind of ['htb', 'drr'] as const) {
    it(`${kind}: with the default FIFO the light flow waits behind the heavy one; with sfq or fq_codel it does not`, () => {
      const fifo = run(kind, undefined);
      expect(fifo.light.quantile(0.99)).toBeGreaterThan(300e6);
      for (const leaf of [
        { kind: 'sfq', params: {} },
        { kind: 'fq_codel', params: {} },
      ] as LeafSpec[]) {
        const r = run(kind, leaf);
        expect(r.light.quantile(0.99), leaf.kind).toBeLessThan(3e6);
        expect(r.light.count, leaf.kind).toBeGreaterThan(490);
        // Every packet offered to the class is sent, refused, dropped by its discipline, or still queued.
        expect(r.offered, leaf.kind).toBe(r.sent + r.refused + r.sunk + r.queued);
      }
    });
  }

  it('changing the leaf of a backlogged class keeps every packet, each flow in order', () => {
    const h = new Harness('drr', 1024, 1, {}, LINK);
    h.sched.addClass(0, { weight: 1 });
    const sent = new Map<number, number[]>([
      [HEAVY, []],
      [LIGHT, []],
    ]);
    const offer = (n: number) => {
      for (let i = 0; i < n; i++) for (const flow of [HEAVY, LIGHT]) sent.get(flow)!.push(h.offer(0, 300, flow)[0]);
    };
    offer(20);
    h.sched.changeClass(0, { leaf: { kind: 'sfq', params: {} } });
    offer(20);
    h.sched.changeClass(0, { leaf: { kind: 'fq_codel', params: {} } });
    offer(20);
    expect(h.sched.backlogPackets(0)).toBe(120);
    h.sched.changeClass(0, { leaf: null });
    const got = new Map<number, number[]>([
      [HEAVY, []],
      [LIGHT, []],
    ]);
    for (let f = h.take(); f >= 0; f = h.take()) got.get(h.flow[f])!.push(f);
    expect(got).toEqual(sent);
    expect(h.sunk).toEqual([]);
  });

  it("an inner prio inside an htb class: its band 0 always goes first, within the class's rate", () => {
    // Inner classes take slots of the same size of table as the outer ones.
    const h = new Harness('htb', 1024, 4, {}, LINK);
    const prio: LeafSpec = { kind: 'prio', params: {}, classes: [0, 1, 2].map((band) => ({ slot: band, band })) };
    h.sched.addClass(0, { rate: 1e7, ceil: 1e7, leaf: prio });
    const low = Array.from({ length: 30 }, () => h.offer(0, 1000, HEAVY, false, 2)[0]);
    const high = Array.from({ length: 10 }, () => h.offer(0, 1000, LIGHT, false, 0)[0]);
    const out: number[] = [];
    for (let f = h.takeWaiting(); f >= 0; f = h.sched.backlog > 0 ? h.takeWaiting() : -1) out.push(f);
    expect(out).toEqual([...high, ...low]);
    // The inner qdisc's classes count what they released (tc -s class show for 20:1..20:3).
    expect(h.sched.innerStats!(0)!.map((c) => [c.slot, c.packets, c.bytes, c.backlogPackets])).toEqual([
      [0, 10, 10_000, 0],
      [1, 0, 0, 0],
      [2, 30, 30_000, 0],
    ]);
    // 40 kB at 10 Mbit/s (less the initial burst): the class's rate still holds.
    expect(h.now).toBeGreaterThan(28e6);
    expect(h.sunk).toEqual([]);
  });

  it('a shaper inside a class (a tbf: one htb class) holds its class to its rate; the parent gives the rest to the others', () => {
    // drr at the root with two busy classes; class 0 carries a 10 Mbit/s tbf.
    const h = new Harness('drr', 4096, 2, {}, LINK);
    const tbf: LeafSpec = { kind: 'htb', params: {}, classes: [{ slot: 0, rate: 1e7, ceil: 1e7, burst: 3000, cburst: 3000 }] };
    h.sched.addClass(0, { quantum: 1500, leaf: tbf });
    h.sched.addClass(1, { quantum: 1500 });
    for (let i = 0; i < 100; i++) {
      h.offer(0, 1000, HEAVY);
      h.offer(1, 1000, LIGHT);
    }
    const bytes = [0, 0];
    while (h.now < 1e9) {
      const f = h.takeWaiting();
      bytes[h.cls[f]] += 1000;
      h.offer(h.cls[f], 1000, h.flow[f]); // both stay backlogged
    }
    expect(Math.abs((bytes[0] * 8) / 1e7 - 1)).toBeLessThan(0.01); // 10 Mbit/s over 1 s
    expect(Math.abs((bytes[1] * 8) / 9e7 - 1)).toBeLessThan(0.01); // the other 90
  });

  it('a class whose shaper holds everything lets the link idle until it may send', () => {
    const h = new Harness('prio', 256, 2, {}, LINK);
    const tbf: LeafSpec = { kind: 'htb', params: {}, classes: [{ slot: 0, rate: 1e6, ceil: 1e6, burst: 1000, cburst: 1000 }] };
    h.sched.addClass(0, { band: 0, leaf: tbf });
    for (let i = 0; i < 5; i++) h.offer(0, 1000, HEAVY);
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      h.takeWaiting();
      times.push(h.now);
    }
    // The burst lets two go at once (htb sends while its tokens are not negative); then the
    // link idles between packets: one 1000 B packet per 8 ms at 1 Mbit/s.
    expect(times[1] - times[0]).toBeLessThan(1e5);
    for (let i = 3; i < 5; i++) expect(times[i] - times[i - 1]).toBeCloseTo(8e6, -4);
    expect(h.sched.backlog).toBe(0);
  });

  it('replacing the shaper of a sleeping class wakes it: its packets go out under the new leaf', () => {
    const h = new Harness('drr', 256, 2, {}, LINK);
    const tbf: LeafSpec = { kind: 'htb', params: {}, classes: [{ slot: 0, rate: 1e3, ceil: 1e3, burst: 1000, cburst: 1000 }] };
    h.sched.addClass(0, { quantum: 1500, leaf: tbf });
    for (let i = 0; i < 5; i++) h.offer(0, 1000, HEAVY);
    h.take();
    h.take(); // the burst is spent: at 1 kbit/s the class sleeps for seconds
    expect(h.take()).toBe(-1);
    h.sched.changeClass(0, { leaf: null }); // back to a FIFO
    const rest = [h.take(), h.take(), h.take()];
    expect(rest.every((f) => f >= 0)).toBe(true);
    expect(h.sched.backlog).toBe(0);
  });

  it('an inner drr splits its class by quantum', () => {
    const h = new Harness('htb', 4096, 2, {}, LINK);
    const drr: LeafSpec = {
      kind: 'drr',
      params: {},
      classes: [
        { slot: 0, quantum: 1000 },
        { slot: 1, quantum: 3000 },
      ],
    };
    h.sched.addClass(0, { rate: 1e8, leaf: drr });
    for (let i = 0; i < 400; i++) {
      h.offer(0, 1000, HEAVY, false, 0);
      h.offer(0, 1000, LIGHT, false, 1);
    }
    const bytes = [0, 0];
    for (let i = 0; i < 400; i++) bytes[h.sub[h.takeWaiting()]] += 1000;
    expect(bytes[1] / bytes[0]).toBeCloseTo(3, 1);
  });

  it('refuses bad leaf parameters and leaves the class as it was', () => {
    const h = new Harness('htb', 64, 1, {}, LINK);
    h.sched.addClass(0, { rate: 1e7 });
    expect(() => h.sched.changeClass(0, { leaf: { kind: 'sfq', params: { divisor: 1000 } } })).toThrow('divisor: must be a power of two, got 1000');
    expect(h.offer(0, 1000, HEAVY)[1]).toBe(ENQUEUED);
    expect(h.takeWaiting()).toBeGreaterThanOrEqual(0);
  });
});
