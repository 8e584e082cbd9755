/**
 * The classic workloads, by name, written as a user would write the file (they go through
 * the same validation):
 *   equal        4 saturating flows, equal weights, 64–1500 B: the baseline every fair
 *                scheduler should split evenly;
 *   skewed       weights 1:10:100, saturating: shares and lag under a wide weight spread;
 *   bursty       one heavy on/off flow (weight 9, bursts at the full link rate) among 9
 *                light CBR flows of small packets: the light flows are under their share,
 *                so their delay shows how long a scheduler lets the burst run ahead of
 *                them — a whole DRR round of the heavy flow's quantum, or about one
 *                packet under WF2Q+/QFQ;
 *   many         1000 saturating flows, weights 1, 2, 4, 8: scale;
 *   mixed-sizes  two flows of 64 B and two of 1500 B packets, equal weights: fairness in
 *                bytes, not packets.
 */
import { InvalidOptionError } from '../errors.js';
import { validateWorkload, type Workload } from './workload.js';

const PRESETS: Record<string, unknown> = {
  equal: {
    link: '100mbit',
    duration: '1s',
    flows: [{ id: 'f', count: 4, weight: 1, arrival: 'saturating', size: { type: 'uniform', min: 64, max: 1500 } }],
  },
  skewed: {
    link: '100mbit',
    duration: '1s',
    flows: [1, 10, 100].map((weight) => ({ id: `w${weight}`, weight, arrival: 'saturating', size: { type: 'uniform', min: 64, max: 1500 } })),
  },
  bursty: {
    link: '100mbit',
    duration: '2s',
    flows: [
      { id: 'burst', weight: 9, arrival: { type: 'onoff', rate: '100mbit', on: '10ms', off: '30ms' }, size: 1500 },
      { id: 'cbr', count: 9, weight: 1, arrival: { type: 'cbr', rate: '5mbit' }, size: 200 },
    ],
  },
  many: {
    link: '1gbit',
    duration: '0.2s',
    flows: [1, 2, 4, 8].map((weight) => ({ id: `w${weight}`, count: 250, weight, arrival: 'saturating', size: { type: 'uniform', min: 64, max: 1500 } })),
  },
  'mixed-sizes': {
    link: '100mbit',
    duration: '1s',
    flows: [
      { id: 'small', count: 2, weight: 1, arrival: 'saturating', size: 64 },
      { id: 'large', count: 2, weight: 1, arrival: 'saturating', size: 1500 },
    ],
  },
};

export function presetNames(): string[] {
  return Object.keys(PRESETS);
}

export function presetWorkload(name: string): Workload {
  const doc = PRESETS[name];
  if (doc === undefined) throw new InvalidOptionError('workload', `no preset '${name}' (presets: ${presetNames().join(', ')})`);
  return validateWorkload({ name, ...(doc as object) }, name);
}
