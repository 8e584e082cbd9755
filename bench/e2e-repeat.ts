/**
 * `pspat bench e2e` run N times (default 3), each a fresh process, with the medians and the
 * spread: one run's p99.9 on this shared machine moves by 10× between runs (one stall of a
 * millisecond in a window makes it), so a figure worth quoting is a median with its range.
 * Every argument after `--` goes to `pspat bench e2e` unchanged (not --json or --save).
 * Prints a table per mode and load, writes JSON (runs/bench-e2e-repeat.json or --out FILE):
 * `{ args, runs: [bench e2e JSON…], median: { MODE: { mpps, loads: [{ load, latencyNs }] } } }`.
 *
 *   npm run build && node dist/bench/e2e-repeat.js [--repeat 3] [--out FILE] -- --arbiter-cpus 1 --loads 0.5
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { E2eResult, LatencyNs } from '../src/bench/e2e.js';
import { formatNs, renderTable } from '../src/report/table.js';
import { median } from '../src/stats/median.js';
import { benchOptions } from './options.js';

const PSPAT_BIN = fileURLToPath(new URL('../../bin/pspat.js', import.meta.url));
const split = process.argv.indexOf('--');
const own = split < 0 ? process.argv.slice(2) : process.argv.slice(2, split);
const passed = split < 0 ? [] : process.argv.slice(split + 1);
const options = benchOptions(
  'node dist/bench/e2e-repeat.js [options] -- [pspat bench e2e options]: bench e2e run N times, medians and spread',
  {
    repeat: { default: '3', help: 'runs, each a fresh process' },
    out: { default: 'runs/bench-e2e-repeat.json', help: 'where the JSON goes' },
  },
  own,
);
const repeat = Number(options.repeat);
const out = options.out;
if (!(Number.isInteger(repeat) && repeat >= 1)) throw new Error(`--repeat: must be an integer ≥ 1, got ${options.repeat}`);

/** "median (min–max)" of `xs` as `show` writes each. */
const spread = (xs: number[], show: (x: number) => string): string => `${show(median(xs))} (${show(Math.min(...xs))}–${show(Math.max(...xs))})`;

const runs: Omit<E2eResult, 'runs'>[] = [];
for (let i = 0; i < repeat; i++) {
  process.stderr.write(`run ${i + 1} of ${repeat}: pspat bench e2e ${passed.join(' ')}\n`);
  runs.push(
    JSON.parse(execFileSync(process.execPath, [PSPAT_BIN, 'bench', 'e2e', ...passed, '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })),
  );
}

const PERCENTILES = ['p50', 'p90', 'p99', 'p999'] as const;
const modes = Object.keys(runs[0].modes) as (keyof E2eResult['modes'])[];
const medianOf = Object.fromEntries(
  modes.map((m) => {
    const all = runs.map((r) => r.modes[m]!);
    const loads = all[0].loads.map((l, i) => ({
      load: l.load,
      latencyNs: Object.fromEntries(PERCENTILES.map((p) => [p, median(all.map((r) => r.loads[i].latencyNs[p]))])) as unknown as LatencyNs,
    }));
    return [m, { mpps: median(all.map((r) => r.mpps)), loads }];
  }),
);

console.log(`pspat bench e2e ${passed.join(' ')}: ${repeat} runs, each a fresh process; median (min–max)`);
console.log(`threads: ${runs[0].params.placement}\n`);
console.log(
  renderTable(
    ['mode', 'saturation Mpps'],
    modes.map((m) => [
      m,
      spread(
        runs.map((r) => r.modes[m]!.mpps),
        (x) => x.toFixed(3),
      ),
    ]),
  ),
);
const delayRows = modes.flatMap((m) =>
  runs[0].modes[m]!.loads.map((l, i) => [
    m,
    `${Math.round(l.load * 100)}%`,
    ...PERCENTILES.map((p) =>
      spread(
        runs.map((r) => r.modes[m]!.loads[i].latencyNs[p]),
        formatNs,
      ),
    ),
  ]),
);
if (delayRows.length > 0) console.log(`\none-way delay\n${renderTable(['mode', 'load', 'p50', 'p90', 'p99', 'p99.9'], delayRows)}`);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify({ args: passed, runs, median: medianOf }, null, 2)}\n`);
console.log(`\nwritten: ${out}`);
