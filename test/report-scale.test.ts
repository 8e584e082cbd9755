/**
 * Reports scale: a plot does bounded work whatever it is given — a one-hour series, 1500
 * flows, crafted values — where it overflowed the stack or looped until V8 gave up.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decimate, linePlot, MAX_POINTS, MAX_SERIES } from '../src/report/svg-plot.js';
import { pspat } from './helpers/cli.js';

const polylines = (svg: string) => [...svg.matchAll(/<polyline points="([^"]*)"/g)].map((m) => m[1].split(' ').filter(Boolean).length);

describe('report plots at scale', () => {
  it('draws a million-point series with at most MAX_POINTS points, keeping its one spike', () => {
    const points = Array.from({ length: 1_000_000 }, (_, i): [number, number] => [i, i === 654_321 ? 1000 : 1]);
    expect(decimate(points, MAX_POINTS).some(([x, y]) => x === 654_321 && y === 1000)).toBe(true);
    const svg = linePlot({ title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: 's', points }] });
    const [n] = polylines(svg);
    expect(n).toBeLessThanOrEqual(MAX_POINTS);
    expect(n).toBeGreaterThan(MAX_POINTS / 2);
  });

  it('ends on x values floating point cannot step between (1e20 and 1e20 + 65536)', () => {
    const svg = linePlot({
      title: 't',
      xLabel: 'x',
      yLabel: 'y',
      series: [
        {
          name: 's',
          points: [
            [1e20, 0],
            [1e20 + 65536, 1],
          ],
        },
      ],
    });
    expect(svg.match(/<line /g)!.length).toBeLessThan(100);
  });

  it('draws at most MAX_SERIES lines of 1500 and says how many there were', () => {
    const series = Array.from({ length: 1500 }, (_, i) => ({
      name: `flow ${i}`,
      points: [
        [0, i],
        [1, i],
      ] as [number, number][],
    }));
    const svg = linePlot({ title: 't', xLabel: 'x', yLabel: 'y', series });
    expect(polylines(svg)).toHaveLength(MAX_SERIES);
    expect(svg).toContain(`… ${1500 - 18} more (${MAX_SERIES} drawn)`);
  });

  it('pspat report --format html renders a run of 1500 classes with long series', async () => {
    const classes = Array.from({ length: 1500 }, (_, i) => ({ id: String(i), bytes: Array.from({ length: 400 }, (_, t) => (i + t) % 97) }));
    const run = {
      format: 'pspat-run/1',
      runs: [
        {
          name: 'many flows',
          kind: 'sim',
          createdAt: '2026-12-06T00:00:00.000Z',
          config: {},
          counters: {},
          classes: classes.map((c) => ({ id: c.id, counters: {}, stages: {} })),
          series: { intervalNs: 1e8, classes },
        },
      ],
    };
    const dir = mkdtempSync(join(tmpdir(), 'pspat-scale-'));
    writeFileSync(join(dir, 'run.json'), JSON.stringify(run));
    const r = await pspat(['report', join(dir, 'run.json'), '--format', 'html', '--out', join(dir, 'r.html')]);
    expect([r.code, r.stderr]).toEqual([0, '']);
  });
});
