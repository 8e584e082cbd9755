/** A simulator result as a RUN.json run (src/report/run-file.ts): one per scheduler. */
import { stagesJson, type Run } from '../report/run-file.js';
import type { SimResult } from './simulate.js';
import type { SweepPoint } from './sweep.js';
import type { Workload } from './workload.js';

export function simRun(w: Workload, r: SimResult, sweep: SweepPoint[] = []): Run {
  const sum = (f: (x: SimResult['flows'][number]) => number) => r.flows.reduce((a, x) => a + f(x), 0);
  return {
    name: `sim ${r.scheduler} on ${w.name}`,
    kind: 'sim',
    createdAt: new Date().toISOString(),
    config: { scheduler: r.scheduler, workload: w },
    counters: {
      offered: sum((f) => f.in),
      sent: sum((f) => f.sent),
      dropped: sum((f) => f.dropped),
      queued: sum((f) => f.queued),
      jain: r.jain,
      elapsedNs: r.elapsedNs,
    },
    classes: r.flows.map((f) => ({
      id: f.id,
      counters: {
        weight: f.weight,
        share: f.share,
        idealShare: f.idealShare,
        maxLagBytes: f.maxLagBytes,
        in: f.in,
        sent: f.sent,
        dropped: f.dropped,
        queued: f.queued,
      },
      stages: stagesJson(f.stages),
    })),
    series: { intervalNs: r.seriesIntervalNs, classes: r.flows.map((f) => ({ id: f.id, bytes: f.series })) },
    ...(sweep.length > 0 && {
      sweep: sweep.map((p) => ({ load: p.load, classes: p.result.flows.map((f) => ({ id: f.id, stages: stagesJson(f.stages) })) })),
    }),
  };
}
