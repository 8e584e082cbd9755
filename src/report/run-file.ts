/**
 * RUN.json: what a run (demo, sim, daemon, bench) leaves behind for `pspat report` —
 * its configuration, counters and histograms, enough to print percentiles and draw plots
 * later, and to put two runs side by side.
 *
 * A file holds one or more runs (`pspat sim --compare` saves one per scheduler):
 *
 *   { format: 'pspat-run/1', runs: [{
 *       name, kind, createdAt, config,          // config: the options as the run resolved them
 *       counters: { offered, sent, dropped, queued, ... },
 *       classes: [{ id, counters: {...}, stages: { mailbox?, queue?, tx?, e2e? } }],
 *       series?: { intervalNs, classes: [{ id, bytes: [...] }] },   // bytes sent per interval
 *       sweep?:  [{ load, classes: [{ id, stages }] }],              // delay vs offered load
 *   }] }
 *
 * Histograms are stored sparse (histogram.ts toJSON) and read back exactly, so a report of
 * a file prints the same percentiles the run did.
 */
import { fileError, readInputFile, writeFileAtomic } from '../files.js';
import { InvalidOptionError } from '../errors.js';
import { Histogram, type HistogramJson } from '../stats/histogram.js';
import { STAGES, type Stage, type StageHistograms } from '../stats/class-histograms.js';

export const RUN_FORMAT = 'pspat-run/1';
export const RUN_KINDS = ['demo', 'sim', 'daemon', 'bench'] as const;
export type RunKind = (typeof RUN_KINDS)[number];

export type StagesJson = Partial<Record<Stage, HistogramJson>>;

export interface RunClass {
  id: string;
  counters: Record<string, number>;
  stages: StagesJson;
}

export interface RunSeries {
  intervalNs: number;
  classes: { id: string; bytes: number[] }[];
}

export interface RunSweepPoint {
  /** Offered load as a fraction of the link rate. */
  load: number;
  classes: { id: string; stages: StagesJson }[];
}

export interface Run {
  name: string;
  kind: RunKind;
  createdAt: string;
  config: unknown;
  counters: Record<string, number>;
  /** pspat's stage histograms hold one packet in this many of each class (LinkOptions.stageSample); absent: every packet. */
  stageSample?: number;
  classes: RunClass[];
  series?: RunSeries;
  sweep?: RunSweepPoint[];
}

export interface RunFile {
  format: typeof RUN_FORMAT;
  runs: Run[];
}

/** What a report says of its stage histograms' sampling (Run.stageSample). */
export function stageSampleNote(every = 1): string {
  return every > 1
    ? `stage delays (mailbox, queue, tx) sampled: 1 packet in ${every} per class, so their counts are samples`
    : 'stage delays recorded for every packet';
}

export function stagesJson(stages: StageHistograms): StagesJson {
  const out: StagesJson = {};
  for (const stage of STAGES) {
    const h = stages[stage];
    if (h !== undefined && h.count > 0) out[stage] = h.toJSON();
  }
  return out;
}

export function writeRunFile(path: string, runs: Run[]): void {
  const file: RunFile = { format: RUN_FORMAT, runs };
  try {
    writeFileAtomic(path, `${JSON.stringify(file)}\n`);
  } catch (e) {
    throw new InvalidOptionError('save', `cannot write '${path}': ${fileError(e)}`);
  }
}

/** The largest RUN.json read (an hour-long run's series and histograms are a few MB). */
export const MAX_RUN_FILE_BYTES = 256 << 20;

/** Reads and checks a RUN.json; every error names the file and the field. */
export function readRunFile(path: string): RunFile {
  let text: string;
  try {
    text = readInputFile(path, MAX_RUN_FILE_BYTES);
  } catch (e) {
    throw new InvalidOptionError(path, `cannot read: ${fileError(e)}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new InvalidOptionError(path, `not JSON: ${(e as Error).message}`);
  }
  return checkRunFile(data, path);
}

/** Validates a parsed RUN.json in place (histograms are checked by decoding them). */
export function checkRunFile(data: unknown, where: string): RunFile {
  const fail = (field: string, detail: string): never => {
    throw new InvalidOptionError(`${where}: ${field}`, detail);
  };
  const obj = (v: unknown, field: string): Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : fail(field, 'must be an object');
  const arr = (v: unknown, field: string): unknown[] => (Array.isArray(v) ? v : fail(field, 'must be an array'));
  const str = (v: unknown, field: string): string => (typeof v === 'string' ? v : fail(field, 'must be a string'));
  const numbers = (v: unknown, field: string): Record<string, number> => {
    const o = obj(v, field);
    for (const [k, n] of Object.entries(o)) if (typeof n !== 'number' || !Number.isFinite(n)) fail(`${field}.${k}`, 'must be a finite number');
    return o as Record<string, number>;
  };
  const stages = (v: unknown, field: string): void => {
    for (const [stage, h] of Object.entries(obj(v, field))) {
      if (!(STAGES as readonly string[]).includes(stage)) fail(`${field}.${stage}`, `unknown stage (${STAGES.join(', ')})`);
      const j = obj(h, `${field}.${stage}`);
      arr(j.buckets, `${field}.${stage}.buckets`);
      try {
        Histogram.fromJSON(j as unknown as HistogramJson);
      } catch (e) {
        fail(`${field}.${stage}`, (e as Error).message);
      }
    }
  };
  const file = obj(data, 'file');
  if (file.format !== RUN_FORMAT) fail('format', `must be '${RUN_FORMAT}', got ${JSON.stringify(file.format)}`);
  arr(file.runs, 'runs').forEach((r, i) => {
    const at = `runs[${i}]`;
    const run = obj(r, at);
    str(run.name, `${at}.name`);
    if (!(RUN_KINDS as readonly unknown[]).includes(run.kind)) fail(`${at}.kind`, `must be one of ${RUN_KINDS.join(', ')}`);
    numbers(run.counters, `${at}.counters`);
    if (run.stageSample !== undefined && !(Number.isInteger(run.stageSample) && (run.stageSample as number) >= 1)) {
      fail(`${at}.stageSample`, 'must be an integer ≥ 1');
    }
    arr(run.classes, `${at}.classes`).forEach((c, k) => {
      const cl = obj(c, `${at}.classes[${k}]`);
      str(cl.id, `${at}.classes[${k}].id`);
      numbers(cl.counters, `${at}.classes[${k}].counters`);
      stages(cl.stages, `${at}.classes[${k}].stages`);
    });
    if (run.series !== undefined) {
      const s = obj(run.series, `${at}.series`);
      if (!(typeof s.intervalNs === 'number' && s.intervalNs > 0)) fail(`${at}.series.intervalNs`, 'must be a positive number');
      arr(s.classes, `${at}.series.classes`).forEach((c, k) => {
        const sc = obj(c, `${at}.series.classes[${k}]`);
        str(sc.id, `${at}.series.classes[${k}].id`);
        if (!arr(sc.bytes, `${at}.series.classes[${k}].bytes`).every((b) => typeof b === 'number' && b >= 0)) {
          fail(`${at}.series.classes[${k}].bytes`, 'must hold non-negative numbers');
        }
      });
    }
    if (run.sweep !== undefined) {
      arr(run.sweep, `${at}.sweep`).forEach((p, k) => {
        const pt = obj(p, `${at}.sweep[${k}]`);
        if (!(typeof pt.load === 'number' && pt.load > 0)) fail(`${at}.sweep[${k}].load`, 'must be a positive number');
        arr(pt.classes, `${at}.sweep[${k}].classes`).forEach((c, j) => {
          const sc = obj(c, `${at}.sweep[${k}].classes[${j}]`);
          str(sc.id, `${at}.sweep[${k}].classes[${j}].id`);
          stages(sc.stages, `${at}.sweep[${k}].classes[${j}].stages`);
        });
      });
    }
  });
  return data as RunFile;
}

/** Decodes a class's stored stages. */
export function histogramsFromJson(stages: StagesJson): StageHistograms {
  const out: StageHistograms = {};
  for (const [stage, j] of Object.entries(stages) as [Stage, HistogramJson][]) out[stage] = Histogram.fromJSON(j);
  return out;
}
