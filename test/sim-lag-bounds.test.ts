/**
 * Lag behind the fluid system (GPS), measured by the simulator, against the bound the
 * QFQ paper proves.
 *
 * The bound checked: B-WFI_k ≤ 3·L_k + 2·L bytes — QFQ's bit worst-case fair index
 * (Checconi, Rizzo, Valente, "QFQ: Efficient Packet Scheduling With Tight Guarantees",
 * IEEE/ACM ToN 21(3), 2013, §V, as we read it: T-WFI_k = 3·σ_k + 2·L/R with
 * σ_k = L_k/(φ_k·R), which times φ_k·R, φ_k ≤ 1, gives the bytes above), where L_k is the class's maximum packet (its `maxpkt`, at least 512 B)
 * and L the largest packet on the link. B-WFI bounds how far a continuously backlogged
 * flow falls behind φ_k·R over any interval; when every flow is saturating from time 0,
 * GPS serves each flow at exactly φ_k·R, so B-WFI bounds the lag behind GPS itself. WF2Q+
 * is the exact system QFQ approximates (QFQ's bound is WF2Q+'s plus its rounding of
 * timestamps), so the same bound holds for it, with room to spare.
 *
 * DRR's lag is bounded only by the round it lets a flow's quantum run ahead of the
 * others: with weights 1:1000 that is hundreds of packets, and it shows.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { presetWorkload } from '../src/sim/presets.js';
import { simulate, type SimResult } from '../src/sim/simulate.js';
import { maxSize, validateWorkload, type Workload } from '../src/sim/workload.js';
import { QFQ_MIN_LMAX } from '../schedulers/qfq.js';

/** Each flow's QFQ B-WFI: 3·L_k + 2·L, L_k its largest packet, at least QFQ's 512 B. */
function bwfi(w: Workload): number[] {
  const lk = w.flows.map((f) => Math.max(QFQ_MIN_LMAX, maxSize(f.size)));
  const l = Math.max(...lk);
  return lk.map((k) => 3 * k + 2 * l);
}

function expectWithinBwfi(w: Workload, r: SimResult): void {
  const bound = bwfi(w);
  for (const [i, f] of r.flows.entries()) expect(f.maxLagBytes, `${r.scheduler} ${f.id}`).toBeLessThanOrEqual(bound[i]);
}

const uniformSizes = { type: 'uniform', min: 64, max: 1500 };
const ADVERSARIAL: Record<string, object> = {
  // The widest weight spread QFQ takes, random sizes.
  'weights 1:10:100:1000': {
    link: '1gbit',
    duration: '0.5s',
    flows: [1, 10, 100, 1000].map((weight) => ({ id: `w${weight}`, weight, arrival: 'saturating', size: uniformSizes })),
  },
  // One heavy flow among many light ones: WFQ's classic failure, DRR's long rounds.
  'one of weight 100 among 100 of weight 1': {
    link: '1gbit',
    duration: '0.3s',
    flows: [
      { id: 'heavy', weight: 100, arrival: 'saturating', size: 1500 },
      { id: 'light', count: 100, weight: 1, arrival: 'saturating', size: 1500 },
    ],
  },
  // A heavy flow of tiny packets beside light flows of full-size ones.
  'heavy 64 B flow, light 1500 B flows': {
    link: '1gbit',
    duration: '0.3s',
    flows: [
      { id: 'tiny', weight: 1000, arrival: 'saturating', size: 64 },
      { id: 'big', weight: 1, arrival: 'saturating', size: 1500 },
      { id: 'mid', count: 20, weight: 5, arrival: 'saturating', size: 1500 },
    ],
  },
};

describe('lag behind GPS', () => {
  for (const [name, doc] of Object.entries(ADVERSARIAL)) {
    it(`${name}: QFQ and WF2Q+ stay within 3·L_k + 2·L of GPS`, () => {
      const w = validateWorkload(doc, name);
      for (const kind of ['qfq', 'wf2q']) expectWithinBwfi(w, simulate(w, kind));
    });
  }

  it('DRR at 1:10:100:1000 lags far beyond that bound, and over 10× QFQ', () => {
    const w = validateWorkload(ADVERSARIAL['weights 1:10:100:1000']);
    const worst = (r: SimResult) => Math.max(...r.flows.map((f) => f.maxLagBytes));
    const drr = worst(simulate(w, 'drr'));
    expect(drr).toBeGreaterThan(Math.max(...bwfi(w)) * 10);
    expect(drr).toBeGreaterThan(worst(simulate(w, 'qfq')) * 10);
  });

  it('property: random weights and packet sizes, all flows saturating — QFQ and WF2Q+ within the bound', () => {
    const flowArb = fc.record({ weight: fc.integer({ min: 1, max: 1024 }), size: fc.integer({ min: 64, max: 1500 }) });
    fc.assert(
      fc.property(fc.array(flowArb, { minLength: 2, maxLength: 24 }), fc.integer(), (flows, seed) => {
        const w = validateWorkload({
          link: '1gbit',
          duration: '20ms',
          seed,
          flows: flows.map((f) => ({ weight: f.weight, arrival: 'saturating', size: f.size })),
        });
        for (const kind of ['qfq', 'wf2q']) expectWithinBwfi(w, simulate(w, kind));
      }),
      { seed: 4242, numRuns: 40 },
    );
  });

  it('bursty preset: the CBR flows wait a whole DRR round of the burst, about one packet under QFQ and WF2Q+', () => {
    const w = presetWorkload('bursty');
    const cbrWorst = (kind: string) => {
      const flows = simulate(w, kind).flows.filter((f) => f.id.startsWith('cbr'));
      return { p99: Math.max(...flows.map((f) => f.delayNs.p99)), lag: Math.max(...flows.map((f) => f.maxLagBytes)) };
    };
    const drr = cbrWorst('drr');
    const qfq = cbrWorst('qfq');
    const wf2q = cbrWorst('wf2q');
    // DRR: the burst's quantum is 9 × 1514 B, 1.09 ms at 100 Mbit/s, before a CBR flow's turn.
    expect(drr.p99).toBeGreaterThan(1.09e6);
    expect(drr.p99).toBeGreaterThan(2 * qfq.p99);
    expect(qfq.p99).toBeGreaterThan(wf2q.p99);
    expect(wf2q.p99).toBeLessThan(0.5e6);
    expect(drr.lag).toBeGreaterThan(2 * wf2q.lag);
  });
});
