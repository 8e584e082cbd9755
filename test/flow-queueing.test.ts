/**
 * sfq and fq_codel: per-flow limits and drops, sparse flows first, CoDel's timing, and —
 * what they are for — a light flow isolated from a heavy one (in the simulator, against
 * FIFO on the same arrivals).
 */
import { describe, expect, it } from 'vitest';
import { simulate } from '../src/sim/simulate.js';
import { fileURLToPath } from 'node:url';
import { loadWorkloadFile } from '../src/sim/workload.js';
import { DROP_AQM, DROP_QUEUE_LIMIT, ENQUEUED } from '../schedulers/types.js';
import { Harness } from './helpers/sched-harness.js';

const A = 101; // flow hashes
const B = 202;

function sfqHarness(params: object = {}): Harness {
  const h = new Harness('sfq', 2048, 1, params, 1e7);
  h.sched.addClass(0, {});
  return h;
}

describe('sfq', () => {
  it('caps a flow at `depth` packets: the arriving packet is dropped', () => {
    const h = sfqHarness({ depth: 10, limitPackets: 100 });
    const verdicts = Array.from({ length: 12 }, () => h.offer(0, 1000, A)[1]);
    expect(verdicts.filter((v) => v === ENQUEUED)).toHaveLength(10);
    expect(verdicts.slice(10)).toEqual([DROP_QUEUE_LIMIT, DROP_QUEUE_LIMIT]);
  });

  it('over the limit drops from the longest flow: its newest, or with headdrop its oldest', () => {
    for (const headdrop of [false, true]) {
      const h = sfqHarness({ limitPackets: 20, headdrop });
      const a = Array.from({ length: 15 }, () => h.offer(0, 1000, A)[0]);
      const b = Array.from({ length: 5 }, () => h.offer(0, 1000, B)[0]);
      const [extra, v] = h.offer(0, 1000, B);
      expect(v).toBe(ENQUEUED); // B is not the longest: A pays
      expect(h.sunk).toEqual([{ frame: headdrop ? a[0] : a[14], reason: DROP_QUEUE_LIMIT, cls: 0 }]);
      const out: number[] = [];
      for (let f = h.take(); f >= 0; f = h.take()) out.push(f);
      expect(out.filter((f) => b.includes(f) || f === extra)).toEqual([...b, extra]);
      expect(out).toHaveLength(20);
    }
  });

  it('serves active flows round robin by bytes, whatever their packet sizes', () => {
    const h = sfqHarness({ limitPackets: 1000, depth: 127 });
    const bytes = new Map<number, number>();
    for (let i = 0; i < 60; i++) h.offer(0, 64, A);
    for (let i = 0; i < 60; i++) h.offer(0, 1500, B);
    for (let i = 0; i < 40; i++) {
      const f = h.take();
      bytes.set(h.flow[f], (bytes.get(h.flow[f]) ?? 0) + h.len[f]);
    }
    // 40 packets in: each flow has had about the same number of bytes, within a quantum.
    expect(Math.abs(bytes.get(A)! - bytes.get(B)!)).toBeLessThanOrEqual(1514 + 64);
  });

  it('perturbation re-hashes queued packets and keeps each flow in order', () => {
    const h = sfqHarness({ perturbS: 1, limitPackets: 1000 });
    const sent = new Map<number, number[]>([
      [A, []],
      [B, []],
    ]);
    for (let i = 0; i < 30; i++) {
      sent.get(A)!.push(h.offer(0, 500, A)[0]);
      sent.get(B)!.push(h.offer(0, 500, B)[0]);
    }
    h.now = 1.5e9; // the next arrival triggers a new seed
    sent.get(A)!.push(h.offer(0, 500, A)[0]);
    const got = new Map<number, number[]>([
      [A, []],
      [B, []],
    ]);
    for (let f = h.take(); f >= 0; f = h.take()) got.get(h.flow[f])!.push(f);
    expect(got).toEqual(sent);
    expect(h.sunk).toEqual([]);
  });
});

function fqHarness(params: object = {}, linkRate = 1e7): Harness {
  const h = new Harness('fq_codel', 16384, 1, params, linkRate);
  h.sched.addClass(0, {});
  return h;
}

describe('fq_codel', () => {
  it("sends a new sparse flow's packet ahead of a backlogged bulk flow", () => {
    const h = fqHarness();
    for (let i = 0; i < 50; i++) h.offer(0, 1500, A);
    for (let i = 0; i < 3; i++) h.take(); // A spends its first quantum and joins the old list
    const [sparse] = h.offer(0, 100, B);
    expect(h.take()).toBe(sparse);
  });

  it('CoDel drops nothing while sojourn stays under target, and starts only after a whole interval above it', () => {
    const light = fqHarness();
    for (let i = 0; i < 500; i++) {
      light.offer(0, 1000, A);
      light.now += 1e6; // 1000 B per ms into a 10 Mbit/s link: never queues
      light.take();
    }
    expect(light.sunk).toEqual([]);

    // 2 packets in for every one out: the standing queue grows past target (5 ms) at once.
    const h = fqHarness();
    let firstAbove = -1;
    let firstDrop = -1;
    for (let i = 0; i < 2000 && firstDrop < 0; i++) {
      h.offer(0, 1000, A);
      h.offer(0, 1000, A);
      const f = h.take();
      if (firstAbove < 0 && f >= 0 && h.now - h.queuedAt[f] > 5e6) firstAbove = h.now;
      if (h.sunk.some((s) => s.reason === DROP_AQM)) firstDrop = h.now;
    }
    expect(firstAbove).toBeGreaterThan(0);
    expect(firstDrop).toBeGreaterThanOrEqual(firstAbove + 100e6 - 1e6);
    expect(firstDrop).toBeLessThan(firstAbove + 100e6 + 5e6);
  });

  it('over its limit drops from the head of the fattest flow only', () => {
    const h = fqHarness({ limitPackets: 100, dropBatch: 8 });
    const a = Array.from({ length: 90 }, () => h.offer(0, 1500, A)[0]);
    for (let i = 0; i < 11; i++) h.offer(0, 100, B);
    expect(h.sunk.map((s) => s.frame)).toEqual(a.slice(0, 8));
    expect(h.sunk.every((s) => s.reason === DROP_QUEUE_LIMIT)).toBe(true);
  });
});

describe('flow isolation in the simulator (same arrivals for every scheduler)', () => {
  // A heavy flow at twice the link's rate and a light one well under its fair share (the README's example).
  const w = loadWorkloadFile(fileURLToPath(new URL('../examples/isolation.yaml', import.meta.url)));

  it('under FIFO the light flow waits behind the heavy one; under sfq and fq_codel it does not', () => {
    const light = (kind: string) => simulate(w, kind).flows[1];
    const fifo = light('fifo');
    expect(fifo.delayNs.p99).toBeGreaterThan(500e6);
    expect(fifo.share).toBeLessThan(0.04);
    for (const kind of ['sfq', 'fq_codel']) {
      const l = light(kind);
      expect(l.delayNs.p99, kind).toBeLessThan(3e6);
      expect(Math.abs(l.share - 0.05), kind).toBeLessThan(0.001);
      expect(l.dropped, kind).toBe(0);
      expect(l.in, kind).toBe(l.sent + l.queued);
    }
  });
});
