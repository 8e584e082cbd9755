/**
 * Delay against offered load: the same workload with every flow's arrival rate scaled so
 * the flows together offer `load` × the link rate (their proportions and processes kept),
 * run once per load point. Saturating flows offer "everything" at any load, so a sweep
 * refuses them.
 */
import { InvalidOptionError } from '../errors.js';
import { simulate, type SimResult } from './simulate.js';
import { offeredRate, type Workload } from './workload.js';

export interface SweepPoint {
  load: number;
  result: SimResult;
}

/** Parses `--sweep 0.2,0.5,0.9`: loads in (0, 2], ascending order not required. */
export function parseLoads(text: string): number[] {
  const loads = text.split(',').filter(Boolean).map(Number);
  if (loads.length === 0 || loads.some((l) => !(l > 0 && l <= 2))) {
    throw new InvalidOptionError('sweep', `loads must be fractions of the link rate in (0, 2], comma separated, got '${text}'`);
  }
  return loads;
}

/** Throws unless every flow's arrival rate can be scaled. */
export function checkSweepable(w: Workload): void {
  const saturating = w.flows.find((f) => f.arrival.type === 'saturating');
  if (saturating) throw new InvalidOptionError('sweep', `flow '${saturating.id}' is saturating: a load sweep needs cbr, poisson or onoff arrivals`);
}

export function scaleToLoad(w: Workload, load: number): Workload {
  checkSweepable(w);
  const offered = w.flows.reduce((a, f) => a + offeredRate(f.arrival), 0);
  const factor = (load * w.linkRate) / offered;
  return {
    ...w,
    flows: w.flows.map((f) => ({ ...f, arrival: f.arrival.type === 'saturating' ? f.arrival : { ...f.arrival, rate: f.arrival.rate * factor } })),
  };
}

/** `onPoint` is called after each load point (progress). */
export function sweepLoad(w: Workload, kind: string, loads: number[], onPoint?: () => void): SweepPoint[] {
  return loads.map((load) => {
    const result = simulate(scaleToLoad(w, load), kind);
    onPoint?.();
    return { load, result };
  });
}
