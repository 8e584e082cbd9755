/**
 * `pspat report --format hgrm`: HdrHistogram's percentile distribution text
 * (outputPercentileDistribution), which HdrHistogram's plotter and the tools built on it
 * read — one block per run, class and stage, values in microseconds, each block after a
 * `#` line naming it. Percentiles step as HdrHistogram's do (5 ticks per half-distance:
 * 0, 10 … 50, 55 … 75, 77.5 … toward 100), each with the value there, the samples at or
 * below it and 1/(1 − percentile); then the mean, standard deviation, max and count.
 */
import { STAGES } from '../stats/class-histograms.js';
import type { Histogram } from '../stats/histogram.js';
import { histogramsFromJson } from './run-file.js';
import type { NamedRun } from './summary.js';

const TICKS_PER_HALF_DISTANCE = 5;
/** ns per value unit: values print in microseconds. */
const UNIT_NS = 1000;

const num = (v: number, width: number, digits: number) => v.toFixed(digits).padStart(width);

/** The percentiles HdrHistogram's percentile iterator visits, up to the last sample's. */
function percentileSteps(count: number): number[] {
  const out: number[] = [];
  let level = 0;
  // Stops where the next step's share of samples is less than one: the last line is 100%.
  while (level < 100 && (100 - level) * count > 100) {
    out.push(level);
    const ticks = TICKS_PER_HALF_DISTANCE * 2 ** (Math.floor(Math.log2(100 / (100 - level))) + 1);
    level += 100 / ticks;
  }
  return out;
}

/** One histogram as HdrHistogram prints it. */
export function hgrmBlock(h: Histogram): string {
  const lines = [`${'Value'.padStart(12)} ${'Percentile'.padStart(14)} ${'TotalCount'.padStart(10)} ${'1/(1-Percentile)'.padStart(14)}`, ''];
  for (const p of percentileSteps(h.count)) {
    const value = h.quantile(p / 100);
    const total = h.countsAtMost([value])[0];
    lines.push(`${num(value / UNIT_NS, 12, 3)} ${(p / 100).toFixed(12)} ${String(total).padStart(10)} ${num(1 / (1 - p / 100), 14, 2)}`);
  }
  lines.push(`${num(h.max / UNIT_NS, 12, 3)} ${(1).toFixed(12)} ${String(h.count).padStart(10)}`);
  lines.push(`#[Mean    = ${num(h.mean / UNIT_NS, 12, 3)}, StdDeviation   = ${num(h.stdDev() / UNIT_NS, 12, 3)}]`);
  lines.push(`#[Max     = ${num(h.max / UNIT_NS, 12, 3)}, Total count    = ${String(h.count).padStart(12)}]`);
  return lines.join('\n');
}

export function reportHgrm(runs: NamedRun[]): string {
  const blocks: string[] = [];
  for (const { name, run } of runs) {
    for (const c of run.classes) {
      const stages = histogramsFromJson(c.stages);
      for (const stage of STAGES) {
        const h = stages[stage];
        if (h === undefined || h.count === 0) continue;
        blocks.push(`# run: ${name}; class: ${c.id}; stage: ${stage}; values in microseconds\n${hgrmBlock(h)}`);
      }
    }
  }
  return blocks.length === 0 ? '# no delay histograms in these runs\n' : `${blocks.join('\n\n')}\n`;
}
