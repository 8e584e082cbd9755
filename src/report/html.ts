/**
 * `pspat report --format html`: one self-contained page (inline CSS and SVG, no scripts,
 * no fetches) with, for the runs given:
 *   - the percentile table (summary.ts), and each run's counters;
 *   - per stage, the delay CDF of every class of every run, on a log time axis;
 *   - per stage, delay by percentile on a log axis of nines up to p99.99 (HdrHistogram's
 *     plot: the tail is as wide as the body);
 *   - per run with a throughput series, each class's rate over time in bit/s (what the
 *     tables count, per second), with the total, against what the run configured (the
 *     link's rate, each class's weighted share of it);
 *   - per run that swept offered load, p50 and p99 delay per class against the load.
 */
import { STAGES, type Stage } from '../stats/class-histograms.js';
import { Histogram } from '../stats/histogram.js';
import { formatNs } from './table.js';
import { histogramsFromJson, type Run } from './run-file.js';
import { SUMMARY_HEADERS, samplingNotes, summaryRows, type NamedRun, type ReportJson } from './summary.js';
import { escapeXml, linePlot, type PlotSeries } from './svg-plot.js';

const STAGE_TITLES: Record<Stage, string> = {
  mailbox: 'mailbox wait (client hand-over → arbiter drain)',
  queue: 'scheduler queueing (drain → release)',
  tx: 'transmit (release → completion)',
  e2e: 'end-to-end one-way delay (client → sink)',
};

function table(header: string[], rows: (string | number)[][]): string {
  const th = header.map((h) => `<th>${escapeXml(h)}</th>`).join('');
  const tr = rows.map((r) => `<tr>${r.map((c) => `<td>${escapeXml(String(c))}</td>`).join('')}</tr>`).join('\n');
  return `<table><thead><tr>${th}</tr></thead><tbody>\n${tr}\n</tbody></table>`;
}

function countersTable(runs: NamedRun[]): string {
  const keys = [...new Set(runs.flatMap((r) => Object.keys(r.run.counters)))];
  return table(
    ['run', 'kind', 'created', ...keys],
    runs.map(({ name, run }) => [name, run.kind, run.createdAt, ...keys.map((k) => fmt(run.counters[k]))]),
  );
}

function fmt(v: number | undefined): string {
  if (v === undefined) return '';
  return Number.isInteger(v) ? String(v) : v.toPrecision(4);
}

/**
 * One plot per stage measured: a line per class of every run (a second run's dashed), its
 * points from the class's histogram by `points`, drawn by `plot`.
 */
function stagePlots(runs: NamedRun[], points: (h: Histogram) => [number, number][], plot: (stage: Stage, series: PlotSeries[]) => string): string[] {
  const many = runs.length > 1;
  return STAGES.flatMap((stage) => {
    const series: PlotSeries[] = runs.flatMap(({ name, run }, ri) =>
      run.classes.flatMap((c) => {
        const j = c.stages[stage];
        if (j === undefined) return [];
        return [{ name: many ? `${name}: ${c.id}` : `class ${c.id}`, points: points(Histogram.fromJSON(j)), dashed: ri % 2 === 1 }];
      }),
    );
    return series.length === 0 ? [] : [plot(stage, series)];
  });
}

function cdfPlots(runs: NamedRun[]): string[] {
  return stagePlots(
    runs,
    (h) => h.cdf(),
    (stage, series) =>
      linePlot({ title: `CDF: ${STAGE_TITLES[stage]}`, xLabel: 'delay', yLabel: 'fraction of packets', xLog: true, yRange: [0, 1], formatX: formatNs, series }),
  );
}

/** The percentiles of a by-percentile plot: HdrHistogram's steps to p99.99, as x = 1/(1 − p). */
const PERCENTILE_POINTS = [0, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999, 0.9995, 0.9999];

/** 1/(1 − p) back to a percentile label: 1 → 0%, 10 → 90%, 1e4 → 99.99%. */
function nines(x: number): string {
  return `${Number((100 * (1 - 1 / x)).toPrecision(6))}%`;
}

function percentilePlots(runs: NamedRun[]): string[] {
  const points = (h: Histogram) => PERCENTILE_POINTS.map((p): [number, number] => [Number((1 / (1 - p)).toPrecision(12)), h.quantile(p)]);
  return stagePlots(runs, points, (stage, series) =>
    linePlot({ title: `By percentile: ${STAGE_TITLES[stage]}`, xLabel: 'percentile', yLabel: 'delay', xLog: true, formatX: nines, formatY: formatNs, series }),
  );
}

/** bit/s with its unit, as tc prints rates. */
function formatBps(v: number): string {
  const [d, u] = v >= 1e9 ? [1e9, 'Gbit/s'] : v >= 1e6 ? [1e6, 'Mbit/s'] : v >= 1e3 ? [1e3, 'kbit/s'] : [1, 'bit/s'];
  return `${Number((v / d).toPrecision(3))} ${u}`;
}

function throughputPlot(name: string, run: Run): string[] {
  const s = run.series;
  if (s === undefined || s.classes.length === 0) return [];
  const n = Math.min(...s.classes.map((c) => c.bytes.length));
  const bps = (bytes: number) => (bytes * 8 * 1e9) / s.intervalNs;
  const at = (i: number) => ((i + 1) * s.intervalNs) / 1e9;
  const series: PlotSeries[] = s.classes.map((c) => ({ name: `class ${c.id}`, points: c.bytes.slice(0, n).map((b, i): [number, number] => [at(i), bps(b)]) }));
  if (s.classes.length > 1) {
    series.push({
      name: 'total',
      dashed: true,
      points: Array.from({ length: n }, (_, i): [number, number] => [at(i), bps(s.classes.reduce((a, c) => a + c.bytes[i], 0))]),
    });
  }
  // What the run configured, where its config says: the link's rate, and each class's
  // weighted share of it (what a backlogged class is owed), as flat dashed lines.
  const config = run.config as { rate?: unknown; weights?: unknown } | undefined;
  const flat = (label: string, v: number): PlotSeries => ({
    name: label,
    dashed: true,
    points: [
      [at(0), v],
      [at(n - 1), v],
    ],
  });
  if (n > 0 && typeof config?.rate === 'number') {
    series.push(flat('link rate', config.rate));
    const w = config.weights;
    if (Array.isArray(w) && w.length === s.classes.length && w.every((x) => typeof x === 'number' && x > 0)) {
      const sum = w.reduce((a: number, x: number) => a + x, 0);
      s.classes.forEach((c, i) => void series.push({ ...flat(`class ${c.id} share`, ((config.rate as number) * (w[i] as number)) / sum), colorOf: i }));
    }
  }
  return [linePlot({ title: `${name}: throughput over time`, xLabel: 'time (s)', yLabel: 'sent', formatY: formatBps, series })];
}

function sweepPlot(name: string, run: Run): string[] {
  const sweep = run.sweep;
  if (sweep === undefined || sweep.length === 0) return [];
  // The latest stage the sweep measured: what a user of the link sees.
  const stage = [...STAGES].reverse().find((st) => sweep.some((p) => p.classes.some((c) => c.stages[st] !== undefined)))!;
  const ids = [...new Set(sweep.flatMap((p) => p.classes.map((c) => c.id)))];
  const series: PlotSeries[] = ids.flatMap((id) =>
    (
      [
        [0.5, 'p50', false],
        [0.99, 'p99', true],
      ] as const
    ).map(([q, label, dashed]) => ({
      name: `${id} ${label}`,
      dashed,
      points: sweep.flatMap((p): [number, number][] => {
        const j = p.classes.find((c) => c.id === id)?.stages[stage];
        return j ? [[p.load, histogramsFromJson({ [stage]: j })[stage]!.quantile(q)]] : [];
      }),
    })),
  );
  return [
    linePlot({
      title: `${name}: ${STAGE_TITLES[stage]} vs offered load`,
      xLabel: 'offered load (fraction of the link rate)',
      yLabel: 'delay',
      formatY: formatNs,
      series,
    }),
  ];
}

export function reportHtml(runs: NamedRun[], report: ReportJson): string {
  const plots = [...cdfPlots(runs), ...percentilePlots(runs), ...runs.flatMap(({ name, run }) => [...throughputPlot(name, run), ...sweepPlot(name, run)])];
  const title = `pspat report: ${runs.map((r) => r.name).join(' vs ')}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeXml(title)}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; }
table { border-collapse: collapse; margin: 8px 0 24px; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
figure { margin: 0 0 24px; }
</style></head>
<body>
<h1>${escapeXml(title)}</h1>
<h2>Runs</h2>
${countersTable(runs)}
<h2>Delay percentiles per class and stage</h2>
${table(SUMMARY_HEADERS, summaryRows(report))}
${samplingNotes(report)
  .map((n) => `<p>${escapeXml(n)}</p>`)
  .join('\n')}
<h2>Plots</h2>
${plots.map((p) => `<figure>${p}</figure>`).join('\n')}
</body></html>
`;
}
