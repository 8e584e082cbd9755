/**
 * A link's state as the arbiter hands it over between passes (the `snapshot` reply of
 * arbiter/control.ts): raw words and copies, which link-stats.ts turns into LinkStats.
 * Declared here, with its readers, so the stats do not import the arbiter's protocol.
 */
import type { ClassXstats, InnerClassStats } from '../../schedulers/types.js';
import type { StageWords } from './class-histograms.js';

export interface LinkSnapshot {
  /** The stats words (layout in src/stats/layout.ts), backlog fields refreshed. */
  stats: Float64Array;
  /** Per class slot: its delay histograms by stage (null: none of its own, see class-histograms.ts). */
  stages: (StageWords | null)[];
  /**
   * Set instead of `stages` and `otherStages`: the histograms were copied into the link's
   * shared copy area (ClassHistograms.copyRecords), this many records, for the host to read.
   */
  copiedRecords?: number;
  /** The histograms classes beyond the link's histogram capacity share; null if none overflowed. */
  otherStages: StageWords | null;
  /** Frames per client still in its mailbox (not yet drained). */
  mailboxFill: number[];
  /** Frames submitted to the transmit port and not completed. */
  inFlight: number;
  /** Per class slot: the scheduler's own counters (htb's tokens, lends, ...), null where it keeps none. */
  xstats: (ClassXstats | null)[];
  /** Per class slot: the classes of its inner qdisc with their counters, null where it has none. */
  inner: (InnerClassStats[] | null)[];
}
