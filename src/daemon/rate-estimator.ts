/**
 * The rate lines of `tc -s` (" rate 29952Kbit 3744pps backlog …"): the kernel keeps a rate
 * estimator per class and qdisc (gen_estimator); the daemon samples each managed link's
 * counters every SAMPLE_MS and keeps an exponentially weighted average per counter set.
 * The first sample sets the average outright, so a steady rate reads right at once.
 */
export const SAMPLE_MS = 1000;
/** Weight of a new sample: the average follows a change with a time constant of ~4 samples. */
const EWMA = 0.25;

export interface Rate {
  /** bit/s */
  bps: number;
  pps: number;
}

interface Last {
  t: number;
  bytes: number;
  packets: number;
  avg: Rate | null;
}

export class RateEstimator {
  private readonly last = new Map<string, Last>();

  /** Counters `bytes`, `packets` of `key` read at `t` (ms). */
  sample(key: string, t: number, bytes: number, packets: number): void {
    const prev = this.last.get(key);
    if (!prev) {
      this.last.set(key, { t, bytes, packets, avg: null });
      return;
    }
    const dt = (t - prev.t) / 1000;
    if (dt <= 0) return;
    const now = { bps: ((bytes - prev.bytes) * 8) / dt, pps: (packets - prev.packets) / dt };
    const avg = prev.avg === null ? now : { bps: prev.avg.bps + EWMA * (now.bps - prev.avg.bps), pps: prev.avg.pps + EWMA * (now.pps - prev.avg.pps) };
    this.last.set(key, { t, bytes, packets, avg });
  }

  /** The estimate for `key`; zero until two samples were taken. */
  rate(key: string): Rate {
    return this.last.get(key)?.avg ?? { bps: 0, pps: 0 };
  }
}
