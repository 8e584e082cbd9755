/**
 * Workload files: every mistake is one error naming the field, in the file's own terms.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { presetNames, presetWorkload } from '../src/sim/presets.js';
import { loadWorkloadFile, validateWorkload } from '../src/sim/workload.js';

const flow = { weight: 1, arrival: 'saturating', size: 1500 };
const base = { link: '100mbit', duration: '1s', flows: [flow] };

describe('workload validation', () => {
  it('normalises units and expands count into numbered flows', () => {
    const w = validateWorkload({
      link: '1gbit',
      duration: '250ms',
      seed: 7,
      flows: [
        { id: 'v', count: 3, weight: 2, arrival: { type: 'onoff', rate: '10mbit', on: '1ms', off: 0.003 }, size: { type: 'uniform', min: 64, max: '1k' } },
        { arrival: { type: 'poisson', rate: 5e6 }, size: { type: 'choice', values: [64, 1500] }, limit: 50, ceil: '20mbit' },
      ],
    });
    expect(w.linkRate).toBe(1e9);
    expect(w.durationNs).toBe(250e6);
    expect(w.flows.map((f) => f.id)).toEqual(['v-0', 'v-1', 'v-2', 'flow1']);
    expect(w.flows[0].arrival).toEqual({ type: 'onoff', rate: 1e7, onNs: 1e6, offNs: 3e6 });
    expect(w.flows[0].size).toEqual({ type: 'uniform', min: 64, max: 1024 });
    expect(w.flows[3].size).toEqual({ type: 'choice', values: [64, 1500], weights: [1, 1] });
    expect(w.flows[3].params).toEqual({ limitPackets: 50, ceil: 2e7 });
  });

  it.each([
    [{ ...base, link: 'fast' }, "link: invalid rate 'fast'"],
    [{ ...base, link: undefined }, 'link: missing'],
    [{ ...base, duration: '0s' }, 'duration: must be a time in (0, 3600s]'],
    [{ ...base, flows: [] }, 'flows: must be a non-empty list of flows'],
    [{ ...base, speed: 1 }, 'speed: unknown field (known: name, link, duration, seed, flows)'],
    [{ ...base, flows: [{ ...flow, wieght: 2 }] }, 'flows[0].wieght: unknown field'],
    [{ ...base, flows: [flow, { ...flow, weight: -1 }] }, 'flows[1].weight: must be a positive number, got -1'],
    [{ ...base, flows: [{ ...flow, arrival: { type: 'cbr' } }] }, 'flows[0].arrival.rate: must be a positive number, got undefined'],
    [
      { ...base, flows: [{ ...flow, arrival: { type: 'pareto', rate: 1 } }] },
      'flows[0].arrival.type: must be one of saturating, cbr, poisson, onoff, got "pareto"',
    ],
    [{ ...base, flows: [{ ...flow, arrival: { type: 'onoff', rate: '1mbit', on: '1ms' } }] }, 'flows[0].arrival.off: must be a time'],
    [{ ...base, flows: [{ ...flow, size: 70000 }] }, 'flows[0].size: must be a whole number of bytes in [1, 65535], got 70000'],
    [{ ...base, flows: [{ ...flow, size: { type: 'uniform', min: 1500, max: 64 } }] }, 'flows[0].size.max: must be at least min (1500), got 64'],
    [{ ...base, flows: [{ ...flow, size: { type: 'choice', values: [64, 1500], weights: [1] } }] }, 'flows[0].size.weights: must be a list of 2 weights'],
    [
      {
        ...base,
        flows: [
          { ...flow, id: 'a' },
          { ...flow, id: 'a' },
        ],
      },
      "flows[1].id: duplicate flow id 'a'",
    ],
    [{ ...base, flows: [{ ...flow, count: 1.5 }] }, 'flows[0].count: must be a positive integer'],
    [{ ...base, flows: [{ ...flow, limit: 0 }] }, 'flows[0].limit: must be a positive integer up to 1000000, got 0'],
  ])('rejects %j', (doc, message) => {
    expect(() => validateWorkload(doc)).toThrow(message);
  });

  it('reads YAML and JSON files, and names the file in every error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pspat-wl-'));
    const yaml = join(dir, 'two.yaml');
    writeFileSync(
      yaml,
      'link: 10mbit\nduration: 100ms\nflows:\n  - { id: a, weight: 1, arrival: saturating, size: 100 }\n  - { id: b, weight: 3, arrival: saturating, size: 100 }\n',
    );
    const w = loadWorkloadFile(yaml);
    expect(w.name).toBe('two');
    expect(w.flows.map((f) => f.weight)).toEqual([1, 3]);

    const json = join(dir, 'bad.json');
    writeFileSync(json, JSON.stringify({ ...base, flows: [{ ...flow, size: 0 }] }));
    expect(() => loadWorkloadFile(json)).toThrow(`${json}: flows[0].size: must be a whole number of bytes in [1, 65535], got 0`);

    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, 'link: 10mbit\nflows: [ { a: 1 \n');
    expect(() => loadWorkloadFile(broken)).toThrow(new RegExp(`^workload: ${broken}: .+`));
    expect(() => loadWorkloadFile(join(dir, 'missing.yaml'))).toThrow(/workload: cannot read '.*missing.yaml': ENOENT/);
  });

  it('ships the five classic presets, each a valid workload', () => {
    expect(presetNames()).toEqual(['equal', 'skewed', 'bursty', 'many', 'mixed-sizes']);
    expect(presetWorkload('many').flows).toHaveLength(1000);
    expect(presetWorkload('skewed').flows.map((f) => f.weight)).toEqual([1, 10, 100]);
    expect(() => presetWorkload('zipf')).toThrow("workload: no preset 'zipf' (presets: equal, skewed, bursty, many, mixed-sizes)");
  });
});
