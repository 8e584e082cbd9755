/**
 * `pspat sim`: schedulers in virtual time on a workload file or preset (src/sim/), one
 * summary row per scheduler and the flows side by side; `--json` for the full report.
 */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { InvalidOptionError } from '../errors.js';
import { presetNames, presetWorkload } from '../sim/presets.js';
import { simulateAll, type SimFlowResult, type SimReport } from '../sim/simulate.js';
import { simRun } from '../sim/run.js';
import { checkSweepable, parseLoads, sweepLoad } from '../sim/sweep.js';
import { writeRunFile } from '../report/run-file.js';
import { progressBar } from './progress.js';
import { loadWorkloadFile, type Workload } from '../sim/workload.js';
import { findScheduler, schedulerKinds } from '../../schedulers/registry.js';
import { intArg } from './parse.js';
import { formatNs, formatPercent, renderTable } from '../report/table.js';

/** Flows listed one per row up to this many; beyond, flows of equal weight are grouped. */
const MAX_FLOW_ROWS = 20;

interface SimFlags {
  scheduler?: string;
  workload?: string;
  compare?: string[];
  seed?: number;
  json?: boolean;
  save?: string;
  sweep?: number[];
}

export function registerSim(program: Command): void {
  program
    .command('sim')
    .description("run schedulers in virtual time on a workload: shares, delay, lag behind GPS, Jain's index")
    .option(
      '--scheduler <kind>',
      `scheduler: ${schedulerKinds()
        .map((k) => k.kind)
        .join(' | ')}`,
    )
    .option('--workload <file|preset>', `a JSON or YAML workload file, or a preset: ${presetNames().join(', ')}`)
    .option('--compare <list>', 'more schedulers to run on the same arrivals, comma separated', (v) => v.split(',').filter(Boolean))
    .option('--seed <n>', "overrides the workload's seed", intArg('seed'))
    .option('--sweep <loads>', 'also run at these offered loads (fractions of the link rate, e.g. 0.2,0.5,0.9): delay vs load in RUN.json', parseLoads)
    .option('--json', 'print the report as JSON instead of tables')
    .option('--save <file>', 'write RUN.json (per-flow histograms by stage, throughput series, sweep) for `pspat report`')
    .action((opts: SimFlags) => {
      const kinds = [...new Set([...(opts.scheduler ? [opts.scheduler] : []), ...(opts.compare ?? [])])];
      if (kinds.length === 0) throw new InvalidOptionError('scheduler', 'give --scheduler S, or --compare S1,S2,...');
      for (const k of kinds) findScheduler(k);
      if (opts.workload === undefined) throw new InvalidOptionError('workload', `give a file or a preset (${presetNames().join(', ')})`);
      const workload = resolveWorkload(opts.workload);
      if (opts.seed !== undefined) workload.seed = opts.seed;
      if (opts.sweep) checkSweepable(workload);
      const bar = progressBar('sim', { json: opts.json });
      const steps = kinds.length * (1 + (opts.sweep?.length ?? 0));
      let done = 0;
      const tick = () => bar.update(++done / steps);
      const report = simulateAll(workload, kinds, tick);
      const sweeps = kinds.map((k) => (opts.sweep ? sweepLoad(workload, k, opts.sweep, tick) : []));
      bar.done();
      if (opts.save)
        writeRunFile(
          opts.save,
          report.results.map((r, i) => simRun(workload, r, sweeps[i])),
        );
      // Histograms and series go to RUN.json; the printed JSON stays a summary.
      const summary = { ...report, results: report.results.map((r) => ({ ...r, flows: r.flows.map(({ stages, series, ...f }) => f) })) };
      process.stdout.write(opts.json ? `${JSON.stringify(summary)}\n` : `${formatSim(report)}\n`);
    });
}

/** A preset by name, else a file; a name that is neither is an error listing the presets. */
function resolveWorkload(spec: string): Workload {
  if (presetNames().includes(spec)) return presetWorkload(spec);
  if (existsSync(spec)) return loadWorkloadFile(spec);
  throw new InvalidOptionError('workload', `no file or preset named '${spec}' (presets: ${presetNames().join(', ')})`);
}

function rateText(bps: number): string {
  return bps >= 1e9 ? `${bps / 1e9} Gbit/s` : `${bps / 1e6} Mbit/s`;
}

/** Flows of one row: a single flow, or every flow of one weight. */
interface FlowGroup {
  label: string;
  members: number[];
}

function flowGroups(w: Workload): FlowGroup[] {
  if (w.flows.length <= MAX_FLOW_ROWS) return w.flows.map((f, i) => ({ label: f.id, members: [i] }));
  const byWeight = new Map<number, number[]>();
  for (const [i, f] of w.flows.entries()) byWeight.set(f.weight, [...(byWeight.get(f.weight) ?? []), i]);
  return [...byWeight].map(([weight, members]) => ({ label: `weight ${weight} (${members.length} flows)`, members }));
}

/** One column group per scheduler: the group's share (mean), worst p99 delay and worst lag. */
function groupCells(flows: SimFlowResult[], g: FlowGroup): string[] {
  const m = g.members.map((i) => flows[i]);
  const share = m.reduce((a, f) => a + f.share, 0) / m.length;
  return [formatPercent(share), formatNs(Math.max(...m.map((f) => f.delayNs.p99))), Math.round(Math.max(...m.map((f) => f.maxLagBytes))).toString()];
}

export function formatSim(r: SimReport): string {
  const w = r.workload;
  const head = `pspat sim: workload ${w.name}, ${w.flows.length} flows, link ${rateText(w.linkRate)}, ${w.durationNs / 1e9}s, seed ${w.seed}`;
  const summary = renderTable(
    ['scheduler', 'jain', 'link used', 'max lag B', 'max lag pkts', 'worst p99 delay', 'dropped'],
    r.results.map((s) => {
      const lag = Math.max(...s.flows.map((f) => f.maxLagBytes));
      return [
        s.scheduler,
        s.jain.toFixed(4),
        formatPercent(s.flows.reduce((a, f) => a + f.share, 0)),
        Math.round(lag),
        Math.max(...s.flows.map((f) => f.maxLagPackets)).toFixed(2),
        formatNs(Math.max(...s.flows.map((f) => f.delayNs.p99))),
        s.flows.reduce((a, f) => a + f.dropped, 0),
      ];
    }),
  );
  const groups = flowGroups(w);
  const ideal = r.results[0].flows;
  const perFlow = renderTable(
    ['flow', 'weight', 'ideal', ...r.results.flatMap((s) => [`${s.scheduler} share`, 'p99 delay', 'max lag B'])],
    groups.map((g) => {
      const first = g.members[0];
      const idealMean = g.members.reduce((a, i) => a + ideal[i].idealShare, 0) / g.members.length;
      return [g.label, w.flows[first].weight, formatPercent(idealMean), ...r.results.flatMap((s) => groupCells(s.flows, g))];
    }),
  );
  return `${head}\n\n${summary}\n\n${perFlow}`;
}
