/**
 * Simulator workloads: what `pspat sim` reads (a JSON or YAML file, or a preset), checked
 * field by field into a normalised `Workload` before anything runs.
 *
 * File format (rates and sizes take tc's units; a bare number is bit/s or bytes; times are
 * strings with a unit, '10ms', or bare numbers in seconds):
 *
 *   name: bursty                 # optional, defaults to the file name
 *   link: 100mbit                # link rate
 *   duration: 1s                 # simulated time
 *   seed: 1                      # arrivals are a pure function of the seed
 *   flows:
 *     - id: burst                # optional, defaults to flow<i>; `count: n` makes n
 *       weight: 9                #   copies named <id>-0 … <id>-(n-1)
 *       arrival: { type: onoff, rate: 100mbit, on: 10ms, off: 30ms }
 *       size: 1500               # or { type: uniform, min, max } or
 *                                #    { type: choice, values: [64, 1500], weights: [1, 3] }
 *     - { id: cbr, count: 9, weight: 1, arrival: { type: cbr, rate: 5mbit }, size: 200 }
 *
 * Arrival types: `saturating` (always backlogged; also the string form), `cbr` and
 * `poisson` at `rate`, `onoff` (CBR at `rate` for `on`, silent for `off`, repeating).
 * Per-flow class parameters: quantum, maxpkt, band, rate/ceil/burst/cburst/prio (htb),
 * limit (packets), limitBytes.
 *
 * Every error names the field the way the file spells it (`flows[2].arrival.rate: …`).
 */
import { basename, extname } from 'node:path';
import { InvalidOptionError } from '../errors.js';
import { parseRate, parseSize, parseTimeUs } from '../units.js';
import { readYamlFile } from '../yaml-file.js';
import type { ClassParams } from '../../schedulers/types.js';

export type Arrival = { type: 'saturating' } | { type: 'cbr' | 'poisson'; rate: number } | { type: 'onoff'; rate: number; onNs: number; offNs: number };

export type SizeDist =
  | { type: 'fixed'; bytes: number }
  | { type: 'uniform'; min: number; max: number }
  | { type: 'choice'; values: number[]; weights: number[] };

export interface FlowSpec {
  id: string;
  weight: number;
  arrival: Arrival;
  size: SizeDist;
  /** Class parameters the flow sets itself (the simulator fills in the rest per scheduler). */
  params: ClassParams;
}

export interface Workload {
  name: string;
  /** bit/s */
  linkRate: number;
  durationNs: number;
  seed: number;
  flows: FlowSpec[];
}

/** Packet sizes the simulator accepts, bytes: up to the largest IPv4 datagram. */
export const MIN_PACKET = 1;
export const MAX_PACKET = 65535;
/** Flows one workload may expand to. */
export const MAX_FLOWS = 100_000;
/** Longest simulated run: an hour of virtual time. */
const MAX_DURATION_NS = 3600e9;

const TOP_FIELDS = ['name', 'link', 'duration', 'seed', 'flows'];
const FLOW_FIELDS = ['id', 'count', 'weight', 'arrival', 'size', 'quantum', 'maxpkt', 'band', 'rate', 'ceil', 'burst', 'cburst', 'prio', 'limit', 'limitBytes'];

type Obj = Record<string, unknown>;

function fail(field: string, detail: string): never {
  throw new InvalidOptionError(field, detail);
}

function object(field: string, v: unknown, known: readonly string[]): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(field || 'workload', `must be a mapping, got ${JSON.stringify(v)}`);
  for (const k of Object.keys(v)) {
    if (!known.includes(k)) fail(field ? `${field}.${k}` : k, `unknown field (known: ${known.join(', ')})`);
  }
  return v as Obj;
}

function positive(field: string, v: unknown, integer = false, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > max || (integer && !Number.isInteger(v))) {
    fail(field, `must be a positive ${integer ? 'integer' : 'number'}${max < Number.MAX_SAFE_INTEGER ? ` up to ${max}` : ''}, got ${JSON.stringify(v)}`);
  }
  return v;
}

function rate(field: string, v: unknown): number {
  if (typeof v === 'string') return positive(field, parseRate(v, field));
  return positive(field, v);
}

function bytes(field: string, v: unknown, lo = MIN_PACKET, hi = MAX_PACKET): number {
  const n = typeof v === 'string' ? parseSize(v, field) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < lo || n > hi) {
    fail(field, `must be a whole number of bytes in [${lo}, ${hi}], got ${JSON.stringify(v)}`);
  }
  return n;
}

/** A time in ns: a string with a unit (tc's units) or a number of seconds. */
function time(field: string, v: unknown): number {
  const ns = typeof v === 'string' ? parseTimeUs(v, field) * 1e3 : typeof v === 'number' ? v * 1e9 : NaN;
  if (!(ns > 0) || ns > MAX_DURATION_NS) fail(field, `must be a time in (0, 3600s] ('10ms', '1s', or seconds), got ${JSON.stringify(v)}`);
  return ns;
}

function arrival(field: string, v: unknown): Arrival {
  if (v === 'saturating') return { type: 'saturating' };
  const o = object(field, v, ['type', 'rate', 'on', 'off']);
  switch (o.type) {
    case 'saturating':
      return { type: 'saturating' };
    case 'cbr':
    case 'poisson':
      return { type: o.type, rate: rate(`${field}.rate`, o.rate) };
    case 'onoff':
      return { type: 'onoff', rate: rate(`${field}.rate`, o.rate), onNs: time(`${field}.on`, o.on), offNs: time(`${field}.off`, o.off) };
    default:
      return fail(`${field}.type`, `must be one of saturating, cbr, poisson, onoff, got ${JSON.stringify(o.type)}`);
  }
}

function size(field: string, v: unknown): SizeDist {
  if (typeof v === 'number' || typeof v === 'string') return { type: 'fixed', bytes: bytes(field, v) };
  const o = object(field, v, ['type', 'min', 'max', 'values', 'weights']);
  if (o.type === 'uniform') {
    const min = bytes(`${field}.min`, o.min);
    const max = bytes(`${field}.max`, o.max);
    if (max < min) fail(`${field}.max`, `must be at least min (${min}), got ${max}`);
    return { type: 'uniform', min, max };
  }
  if (o.type === 'choice') {
    if (!Array.isArray(o.values) || o.values.length === 0) fail(`${field}.values`, 'must be a non-empty list of sizes');
    const values = o.values.map((s, k) => bytes(`${field}.values[${k}]`, s));
    const raw = o.weights ?? values.map(() => 1);
    if (!Array.isArray(raw) || raw.length !== values.length) fail(`${field}.weights`, `must be a list of ${values.length} weights, one per value`);
    const weights = raw.map((w, k) => positive(`${field}.weights[${k}]`, w));
    return { type: 'choice', values, weights };
  }
  return fail(`${field}.type`, `must be uniform or choice (or give a plain size), got ${JSON.stringify(o.type)}`);
}

/** Class parameters a flow may set; each is checked again by the scheduler it reaches. */
function classParams(field: string, o: Obj): ClassParams {
  const p: ClassParams = {};
  if (o.quantum !== undefined) p.quantum = bytes(`${field}.quantum`, o.quantum, 1, 2 ** 32 - 1);
  if (o.maxpkt !== undefined) p.maxpkt = bytes(`${field}.maxpkt`, o.maxpkt, 1, 2 ** 16);
  if (o.band !== undefined) p.band = positiveOrZero(`${field}.band`, o.band);
  if (o.prio !== undefined) p.prio = positiveOrZero(`${field}.prio`, o.prio);
  if (o.rate !== undefined) p.rate = rate(`${field}.rate`, o.rate);
  if (o.ceil !== undefined) p.ceil = rate(`${field}.ceil`, o.ceil);
  if (o.burst !== undefined) p.burst = bytes(`${field}.burst`, o.burst, 1, 2 ** 32 - 1);
  if (o.cburst !== undefined) p.cburst = bytes(`${field}.cburst`, o.cburst, 1, 2 ** 32 - 1);
  if (o.limit !== undefined) p.limitPackets = positive(`${field}.limit`, o.limit, true, 1e6);
  if (o.limitBytes !== undefined) p.limitBytes = bytes(`${field}.limitBytes`, o.limitBytes, 1, 2 ** 32 - 1);
  return p;
}

function positiveOrZero(field: string, v: unknown): number {
  if (v === 0) return 0;
  return positive(field, v, true);
}

/** Checks a parsed document (from a file or a preset) and expands `count`. */
export function validateWorkload(doc: unknown, defaultName = 'workload'): Workload {
  const o = object('', doc, TOP_FIELDS);
  if (o.name !== undefined && typeof o.name !== 'string') fail('name', `must be a string, got ${JSON.stringify(o.name)}`);
  if (o.link === undefined) fail('link', 'missing: the link rate, e.g. 100mbit');
  if (o.duration === undefined) fail('duration', "missing: the simulated time, e.g. '1s'");
  const seed = o.seed ?? 1;
  if (typeof seed !== 'number' || !Number.isInteger(seed)) fail('seed', `must be an integer, got ${JSON.stringify(seed)}`);
  if (!Array.isArray(o.flows) || o.flows.length === 0) fail('flows', 'must be a non-empty list of flows');

  const flows: FlowSpec[] = [];
  const ids = new Set<string>();
  o.flows.forEach((raw, i) => {
    const field = `flows[${i}]`;
    const f = object(field, raw, FLOW_FIELDS);
    if (f.id !== undefined && (typeof f.id !== 'string' || f.id === '')) fail(`${field}.id`, `must be a non-empty string, got ${JSON.stringify(f.id)}`);
    const count = f.count === undefined ? 1 : positive(`${field}.count`, f.count, true, MAX_FLOWS);
    if (flows.length + count > MAX_FLOWS) fail(`${field}.count`, `the workload would have more than ${MAX_FLOWS} flows`);
    if (f.arrival === undefined) fail(`${field}.arrival`, 'missing: saturating, or { type: cbr|poisson|onoff, rate, ... }');
    if (f.size === undefined) fail(`${field}.size`, 'missing: a size in bytes or a distribution');
    const spec = {
      weight: f.weight === undefined ? 1 : positive(`${field}.weight`, f.weight),
      arrival: arrival(`${field}.arrival`, f.arrival),
      size: size(`${field}.size`, f.size),
      params: classParams(field, f),
    };
    const base = (f.id as string | undefined) ?? `flow${i}`;
    for (let k = 0; k < count; k++) {
      const id = count === 1 ? base : `${base}-${k}`;
      if (ids.has(id)) fail(`${field}.id`, `duplicate flow id '${id}'`);
      ids.add(id);
      flows.push({ id, ...spec });
    }
  });
  return {
    name: (o.name as string | undefined) ?? defaultName,
    linkRate: rate('link', o.link),
    durationNs: time('duration', o.duration),
    seed,
    flows,
  };
}

/** Reads and checks a JSON or YAML workload file (YAML parses JSON too). */
export function loadWorkloadFile(path: string): Workload {
  const doc = readYamlFile(path, 'workload');
  try {
    return validateWorkload(doc, basename(path, extname(path)));
  } catch (e) {
    if (e instanceof InvalidOptionError) fail(`${path}: ${e.field || 'workload'}`, e.message.slice(e.field.length + 2));
    throw e;
  }
}

/** The largest packet a size distribution yields. */
export function maxSize(s: SizeDist): number {
  if (s.type === 'fixed') return s.bytes;
  if (s.type === 'uniform') return s.max;
  return Math.max(...s.values);
}

/** What a flow asks of the link on average, bit/s (Infinity when saturating). */
export function offeredRate(a: Arrival): number {
  if (a.type === 'saturating') return Infinity;
  if (a.type === 'onoff') return (a.rate * a.onNs) / (a.onNs + a.offNs);
  return a.rate;
}
