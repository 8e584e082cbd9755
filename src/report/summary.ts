/**
 * `pspat report`'s text forms: the percentile table the PSPAT authors used to compare
 * hardware, tc and PSPAT (min / p10 / p50 / p90 / p99 / p99.9 / max per class and stage),
 * as a terminal table, CSV, or JSON.
 */
import { STAGES, type Stage } from '../stats/class-histograms.js';
import type { StageSummary } from '../stats/histogram.js';
import { formatNs, renderTable } from './table.js';
import { histogramsFromJson, stageSampleNote, type Run } from './run-file.js';

/** A run as the report shows it (its name made unique among the runs compared). */
export interface NamedRun {
  name: string;
  run: Run;
}

export interface ReportJson {
  runs: {
    name: string;
    /** Set when the run's stage histograms hold one packet in this many per class (Run.stageSample). */
    stageSample?: number;
    classes: { id: string; stages: Partial<Record<Stage, StageSummary>> }[];
  }[];
}

const COLUMNS = ['count', 'min', 'p10', 'p50', 'p90', 'p99', 'p999', 'p9999', 'max'] as const;
/** Column headers of the percentile table (text and HTML). */
export const SUMMARY_HEADERS = ['run', 'class', 'stage', 'count', 'min', 'p10', 'p50', 'p90', 'p99', 'p99.9', 'p99.99', 'max'];

/**
 * Names the runs of several files: a run keeps its own name unless another has the same,
 * then the file's name is added ("demo drr (A.json)").
 */
export function nameRuns(files: { path: string; runs: Run[] }[]): NamedRun[] {
  const all = files.flatMap((f) => f.runs.map((run) => ({ path: f.path, run })));
  const count = new Map<string, number>();
  for (const { run } of all) count.set(run.name, (count.get(run.name) ?? 0) + 1);
  const named = all.map(({ path, run }) => ({ name: count.get(run.name)! > 1 ? `${run.name} (${path})` : run.name, run }));
  // Two runs of one file with one name (or one file given twice): number them.
  const seen = new Map<string, number>();
  return named.map((n) => {
    const k = (seen.get(n.name) ?? 0) + 1;
    seen.set(n.name, k);
    return k === 1 ? n : { ...n, name: `${n.name} #${k}` };
  });
}

export function reportJson(runs: NamedRun[]): ReportJson {
  return {
    runs: runs.map(({ name, run }) => ({
      name,
      ...((run.stageSample ?? 1) > 1 && { stageSample: run.stageSample }),
      classes: run.classes.map((c) => {
        const h = histogramsFromJson(c.stages);
        const stages: Partial<Record<Stage, StageSummary>> = {};
        for (const stage of STAGES) if (h[stage] !== undefined) stages[stage] = h[stage]!.summary();
        return { id: c.id, stages };
      }),
    })),
  };
}

function rows(report: ReportJson): { run: string; cls: string; stage: Stage; s: StageSummary }[] {
  return report.runs.flatMap((r) =>
    r.classes.flatMap((c) => STAGES.filter((st) => c.stages[st] !== undefined).map((stage) => ({ run: r.name, cls: c.id, stage, s: c.stages[stage]! }))),
  );
}

/** The percentile table's rows, delays formatted for people. */
export function summaryRows(report: ReportJson): (string | number)[][] {
  return rows(report).map(({ run, cls, stage, s }) => [run, cls, stage, s.count, ...COLUMNS.slice(1).map((k) => formatNs(s[k]))]);
}

export function reportTable(report: ReportJson): string {
  const body = summaryRows(report);
  if (body.length === 0) return 'no delay histograms in these runs';
  return [renderTable(SUMMARY_HEADERS, body), ...samplingNotes(report)].join('\n');
}

/** A line per run whose stage delays were sampled, for the text and HTML forms (JSON carries `stageSample`). */
export function samplingNotes(report: ReportJson): string[] {
  return report.runs.filter((r) => r.stageSample !== undefined).map((r) => `${r.name}: ${stageSampleNote(r.stageSample)}`);
}

function csvField(v: string | number): string {
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One row per run, class and stage; delays in whole nanoseconds. */
export function reportCsv(report: ReportJson): string {
  const header = ['run', 'class', 'stage', 'count', ...COLUMNS.slice(1).map((k) => `${k}_ns`)];
  const lines = rows(report).map(({ run, cls, stage, s }) => [run, cls, stage, s.count, ...COLUMNS.slice(1).map((k) => Math.round(s[k]))]);
  return `${[header, ...lines].map((r) => r.map(csvField).join(',')).join('\n')}\n`;
}
