import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pspat as run } from './helpers/cli.js';

const pspat = (...args: string[]) => run(args);

describe('pspat sim', () => {
  it('--compare drr,qfq,wf2q on bursty: one summary row per scheduler, flows side by side', async () => {
    const r = await pspat('sim', '--compare', 'drr,qfq,wf2q', '--workload', 'bursty');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^pspat sim: workload bursty, 10 flows, link 100 Mbit\/s, 2s, seed 1$/m);
    expect(r.stdout).toMatch(/^scheduler\s+jain\s+link used\s+max lag B\s+max lag pkts\s+worst p99 delay\s+dropped$/m);
    for (const s of ['drr', 'qfq', 'wf2q']) expect(r.stdout).toMatch(new RegExp(`^${s}\\s+1\\.0000\\s+70\\.\\d\\d%`, 'm'));
    expect(r.stdout).toMatch(/^flow\s+weight\s+ideal\s+drr share\s+p99 delay\s+max lag B\s+qfq share/m);
    expect(r.stdout).toMatch(/^cbr-8\s+1\s+5\.00%\s+5\.00%/m);
  });

  it('--json gives { workload, results: [{ scheduler, jain, flows: [...] }] }', async () => {
    const r = await pspat('sim', '--scheduler', 'qfq', '--compare', 'drr', '--workload', 'skewed', '--json');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.workload.name).toBe('skewed');
    expect(out.results.map((s: { scheduler: string }) => s.scheduler)).toEqual(['qfq', 'drr']);
    for (const s of out.results) {
      expect(s.jain).toBeGreaterThan(0.999);
      expect(s.flows.map((f: { id: string }) => f.id)).toEqual(['w1', 'w10', 'w100']);
      for (const f of s.flows) {
        for (const k of ['id', 'weight', 'share', 'idealShare', 'maxLagBytes', 'maxLagPackets', 'throughputBps']) expect(f).toHaveProperty(k);
        expect(Object.keys(f.delayNs).sort()).toEqual(['max', 'p50', 'p99']);
        expect(f.in).toBe(f.sent + f.dropped + f.queued);
      }
    }
  });

  it('runs a YAML workload file, grouping flows by weight when there are many', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pspat-sim-'));
    const file = join(dir, 'two-tiers.yaml');
    writeFileSync(
      file,
      'link: 1gbit\nduration: 20ms\nflows:\n  - { id: gold, count: 15, weight: 4, arrival: saturating, size: 1000 }\n  - { id: bronze, count: 15, weight: 1, arrival: { type: poisson, rate: 50mbit }, size: 500 }\n',
    );
    const r = await pspat('sim', '--scheduler', 'wf2q', '--workload', file);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^weight 4 \(15 flows\)\s+4\s/m);
    expect(r.stdout).toMatch(/^weight 1 \(15 flows\)\s+1\s/m);
  });

  it.each([
    [['--workload', 'bursty'], 'pspat: scheduler: give --scheduler S, or --compare S1,S2,...'],
    [['--scheduler', 'wfq', '--workload', 'bursty'], "pspat: scheduler: unknown scheduler 'wfq'"],
    [['--scheduler', 'drr', '--workload', 'burst'], "pspat: workload: no file or preset named 'burst' (presets: equal, skewed, bursty, many, mixed-sizes)"],
    [['--scheduler', 'prio', '--workload', 'many'], "pspat: flow 'w1-32': prio: band: must be an integer in [0, 31], got 32"],
    [['--scheduler', 'drr', '--workload', 'equal', '--seed', 'x'], "pspat: seed: not a number: 'x'"],
  ])('rejects %j with one line and exit 1', async (args, message) => {
    const r = await pspat('sim', ...args);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(message);
  });
});
