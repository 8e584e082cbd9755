/**
 * Per-class delay histograms of one link, by stage, in shared memory: the arbiter records
 * (plain stores, no allocation per packet), any thread reads lock-free (the Prometheus
 * endpoint) or from a snapshot (consistent, between passes).
 *
 * Stages, each one histogram per class (ns on the shared clock):
 *   mailbox  client hand-over (sentAt) → the arbiter drains it;
 *   queue    drained → released by the scheduler to the transmit port;
 *   tx       released → the port reports it complete.
 * End-to-end one-way delay needs a sink that timestamps packets; runs that have one add
 * an `e2e` stage of their own (the report takes any of the four).
 *
 * 15 KB per histogram makes one per class and stage up front impossible for 65536 classes,
 * so records are bound on a class's first packet: `index[slot]` holds record + 1 (0: none
 * yet). The first `capacity` classes to send get their own record; later ones share the
 * overflow record, reported as class "other". Binding allocates nothing: the arbiter
 * records by word offset into `records`.
 *
 * Buffer layout: `index` Int32[maxClasses]; `records` Float64[(capacity + 1) · 3 · HISTOGRAM_WORDS];
 * `copies`, the same size: where a snapshot copies the records bound so far (one memcpy on
 * the arbiter's thread; the reader builds its histograms from there on its own).
 */
import { Histogram, HISTOGRAM_WORDS, recordAt } from './histogram.js';

export const ARBITER_STAGES = ['mailbox', 'queue', 'tx'] as const;
export type ArbiterStage = (typeof ARBITER_STAGES)[number];
export const STAGES = [...ARBITER_STAGES, 'e2e'] as const;
export type Stage = (typeof STAGES)[number];
export const STAGE_MAILBOX = 0;
export const STAGE_QUEUE = 1;
export const STAGE_TX = 2;
const STAGE_COUNT = ARBITER_STAGES.length;
/** Classes with a record of their own, at most. */
export const DEFAULT_HISTOGRAM_CLASSES = 256;

export interface ClassHistogramsLayout {
  index: SharedArrayBuffer;
  records: SharedArrayBuffer;
  copies: SharedArrayBuffer;
  capacity: number;
  /** Stage delays are recorded for one packet in this many of each class (1: every packet). */
  sampleEvery: number;
}

/** A class's histograms by stage. */
export type StageHistograms = Partial<Record<Stage, Histogram>>;
/** The same as raw words, as snapshots carry them across threads; stages with no sample are absent. */
export type StageWords = Partial<Record<Stage, Float64Array>>;

export class ClassHistograms {
  static allocate(maxClasses: number, { sampleEvery = 1, capacity = Math.min(maxClasses, DEFAULT_HISTOGRAM_CLASSES) } = {}): ClassHistogramsLayout {
    const bytes = 8 * (capacity + 1) * STAGE_COUNT * HISTOGRAM_WORDS;
    return {
      index: new SharedArrayBuffer(4 * maxClasses),
      records: new SharedArrayBuffer(bytes),
      copies: new SharedArrayBuffer(bytes),
      capacity,
      sampleEvery,
    };
  }

  private readonly index: Int32Array;
  /** Per class: packets until the next one whose stages are recorded (arbiter only). */
  private readonly untilSample: Int32Array;
  /** Arbiter only: `records` as words, and per class the word its record starts at (−1: none bound yet). */
  private readonly words: Float64Array;
  private readonly recordWord: Int32Array;
  /** Records handed out so far (arbiter only). */
  private bound = 0;

  constructor(readonly layout: ClassHistogramsLayout) {
    this.index = new Int32Array(layout.index);
    this.words = new Float64Array(layout.records);
    this.recordWord = new Int32Array(this.index.length).fill(-1);
    this.untilSample = new Int32Array(this.index.length);
  }

  /**
   * Arbiter only, once per admitted packet: whether its stage delays are recorded. Each
   * class's first packet is, then every `layout.sampleEvery`-th: a count per class rather than
   * per link, so classes sent in a fixed rotation are all sampled alike.
   */
  sample(slot: number): boolean {
    if (--this.untilSample[slot] > 0) return false;
    this.untilSample[slot] = this.layout.sampleEvery;
    return true;
  }

  /** Arbiter only: records `values[i]` (ns) for class `slot` at `stage` (STAGE_*); read from memory, not passed (recordAt says why). */
  record(slot: number, stage: number, values: Float64Array, i: number): void {
    let at = this.recordWord[slot];
    if (at < 0) at = this.bind(slot);
    recordAt(this.words, at + stage * HISTOGRAM_WORDS, values, i);
  }

  /** Record number of class `slot`, or -1 when it has none; the overflow record is `capacity`. */
  recordOf(slot: number): number {
    return Atomics.load(this.index, slot) - 1;
  }

  /** Live views of record `r` (from `recordOf`); readers see counts a pass may be updating. With `copies`, the views of its last copy. */
  recordViews(r: number, area: SharedArrayBuffer = this.layout.records): StageHistograms {
    const out: StageHistograms = {};
    ARBITER_STAGES.forEach((stage, s) => {
      out[stage] = new Histogram(new Float64Array(area, 8 * (r * STAGE_COUNT + s) * HISTOGRAM_WORDS, HISTOGRAM_WORDS));
    });
    return out;
  }

  /**
   * Arbiter only: copies the records bound so far, and the overflow record, into `copies`
   * (memory copies, nothing allocated per class). Returns how many records it copied: the
   * reader's `fromCopies` takes that many, and no more, as the snapshot's.
   */
  copyRecords(): number {
    const words = STAGE_COUNT * HISTOGRAM_WORDS;
    const n = Math.min(this.bound, this.layout.capacity);
    const from = new Float64Array(this.layout.records);
    const to = new Float64Array(this.layout.copies);
    to.set(from.subarray(0, n * words));
    const overflow = this.layout.capacity * words;
    to.set(from.subarray(overflow, overflow + words), overflow);
    return n;
  }

  /** Reader: the histograms `copyRecords` copied (`records` of them), per class slot as `copy` gives them. */
  fromCopies(records: number): { stages: (StageWords | null)[]; otherStages: StageWords | null } {
    return { stages: this.copiesOf(this.layout.copies, records), otherStages: this.overflowCopyOf(this.layout.copies) };
  }

  /** Copies of every class's histograms by slot (null: no record of its own). */
  copy(): (StageWords | null)[] {
    return this.copiesOf(this.layout.records, this.layout.capacity);
  }

  /** A copy of the overflow record (classes beyond `capacity`), null when no class overflowed. */
  copyOverflow(): StageWords | null {
    return this.overflowCopyOf(this.layout.records);
  }

  /** Per slot, copies of the records below `records` in `area` (the live records or their copy area). */
  private copiesOf(area: SharedArrayBuffer, records: number): (StageWords | null)[] {
    const out: (StageWords | null)[] = new Array(this.index.length).fill(null);
    for (let slot = 0; slot < this.index.length; slot++) {
      const r = this.recordOf(slot);
      if (r >= 0 && r < records) out[slot] = copyOf(this.recordViews(r, area));
    }
    return out;
  }

  private overflowCopyOf(area: SharedArrayBuffer): StageWords | null {
    return this.index.includes(this.layout.capacity + 1) ? copyOf(this.recordViews(this.layout.capacity, area)) : null;
  }

  /** Gives class `slot` its record (the overflow one past `capacity`); returns the word it starts at. */
  private bind(slot: number): number {
    let r = this.recordOf(slot);
    if (r < 0) {
      r = Math.min(this.bound++, this.layout.capacity);
      Atomics.store(this.index, slot, r + 1);
    }
    this.recordWord[slot] = r * STAGE_COUNT * HISTOGRAM_WORDS;
    return this.recordWord[slot];
  }
}

function copyOf(stages: StageHistograms): StageWords {
  const out: StageWords = {};
  for (const [stage, h] of Object.entries(stages) as [Stage, Histogram][]) {
    if (h.count > 0) out[stage] = h.data.slice();
  }
  return out;
}

/** Wraps snapshot words back into histograms. */
export function histogramsOf(words: StageWords): StageHistograms {
  const out: StageHistograms = {};
  for (const [stage, data] of Object.entries(words) as [Stage, Float64Array][]) out[stage] = new Histogram(data);
  return out;
}
