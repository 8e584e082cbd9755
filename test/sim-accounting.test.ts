/**
 * The simulator: every packet accounted for, shares against the max-min ideal, arrivals
 * that are a function of the seed, and the limits a flow sets honoured.
 */
import { describe, expect, it } from 'vitest';
import { presetNames, presetWorkload } from '../src/sim/presets.js';
import { simulate, type SimResult } from '../src/sim/simulate.js';
import { validateWorkload } from '../src/sim/workload.js';
import { schedulerKinds } from '../schedulers/registry.js';

function expectAccounted(r: SimResult): void {
  for (const f of r.flows) expect(f.in, `${r.scheduler} ${f.id}`).toBe(f.sent + f.dropped + f.queued);
}

describe('pspat sim engine', () => {
  for (const preset of presetNames()) {
    it(`${preset}: in = sent + dropped + queued for every flow under every scheduler`, () => {
      const w = presetWorkload(preset);
      if (preset === 'many') w.durationNs = 20e6; // the accounting, not the statistics
      for (const { kind } of schedulerKinds()) {
        if (kind === 'prio' && w.flows.length > 32) continue; // 32 bands: see the next test
        const r = simulate(w, kind);
        expectAccounted(r);
        expect(r.flows.reduce((a, f) => a + f.share, 0)).toBeLessThanOrEqual(1 + 1e-9);
      }
    });
  }

  it('names the flow when its class is refused, and runs nothing', () => {
    expect(() => simulate(presetWorkload('many'), 'prio')).toThrow("flow 'w1-32': prio: band: must be an integer in [0, 31], got 32");
    const w = validateWorkload({ link: '1gbit', duration: '1ms', flows: [{ id: 'x', weight: 2.5, arrival: 'saturating', size: 100 }] });
    expect(() => simulate(w, 'qfq')).toThrow("flow 'x': qfq: weight: must be an integer in [1, 1024], got 2.5");
  });

  // htb gets 3%: the weights become assured rates plus a quantum each (weighted-classes.ts),
  // and skewed's weight-1 flow sends only ~150 packets in the run, ~0.7% each.
  it.each([
    ['drr', 0.01],
    ['qfq', 0.01],
    ['wf2q', 0.01],
    ['htb', 0.03],
  ] as const)('%s gives saturating flows their weighted share within %s (equal, skewed, mixed-sizes)', (kind, tolerance) => {
    for (const preset of ['equal', 'skewed', 'mixed-sizes']) {
      const r = simulate(presetWorkload(preset), kind);
      for (const f of r.flows) expect(Math.abs(f.share / f.idealShare - 1), `${preset} ${f.id}`).toBeLessThan(tolerance);
      expect(r.jain).toBeGreaterThan(0.999);
    }
  });

  it('FIFO shares by packets, not bytes: mixed-sizes gives the 64 B flows far less than their share', () => {
    const r = simulate(presetWorkload('mixed-sizes'), 'fifo');
    const small = r.flows.filter((f) => f.id.startsWith('small'));
    for (const f of small) expect(f.share).toBeLessThan(0.05);
    expect(r.jain).toBeLessThan(0.6);
  });

  it('a flow under its share gets all it offers; one over the link drops at its limit', () => {
    const w = validateWorkload({
      link: '10mbit',
      duration: '1s',
      flows: [
        { id: 'light', weight: 1, arrival: { type: 'cbr', rate: '2mbit' }, size: 500 },
        { id: 'heavy', weight: 1, arrival: { type: 'poisson', rate: '20mbit' }, size: 1000, limit: 20 },
      ],
    });
    for (const kind of ['drr', 'qfq', 'wf2q']) {
      const r = simulate(w, kind);
      const [light, heavy] = r.flows;
      expect(light.idealShare).toBeCloseTo(0.2, 9);
      expect(heavy.idealShare).toBeCloseTo(0.8, 9);
      expect(Math.abs(light.share - 0.2)).toBeLessThan(0.005);
      expect(light.dropped).toBe(0);
      expect(heavy.dropped).toBeGreaterThan(1000);
      expect(heavy.queued).toBeLessThanOrEqual(20);
      expectAccounted(r);
    }
  });

  it('htb holds a flow to its ceil even with the link otherwise idle', () => {
    const w = validateWorkload({
      link: '100mbit',
      duration: '1s',
      flows: [
        { id: 'capped', weight: 1, arrival: 'saturating', size: 1500, rate: '10mbit', ceil: '30mbit' },
        { id: 'idle', weight: 1, arrival: { type: 'cbr', rate: '1kbit' }, size: 100 },
      ],
    });
    const r = simulate(w, 'htb');
    expect(r.flows[0].idealShare).toBeCloseTo(0.3, 9);
    expect(Math.abs(r.flows[0].share - 0.3)).toBeLessThan(0.003);
  });

  it('is a pure function of the seed', () => {
    const w = presetWorkload('bursty');
    const a = simulate(w, 'qfq');
    expect(simulate(w, 'qfq')).toEqual(a);
    const other = simulate({ ...w, seed: 2 }, 'qfq');
    expect(other.flows.map((f) => f.delayNs.p99)).not.toEqual(a.flows.map((f) => f.delayNs.p99));
  });
});
