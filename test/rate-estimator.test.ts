/** The daemon's rate estimator for tc's rate lines. */
import { describe, expect, it } from 'vitest';
import { RateEstimator } from '../src/daemon/rate-estimator.js';

describe('rate estimator', () => {
  it('reads a steady rate right after two samples, and follows a change smoothly', () => {
    const e = new RateEstimator();
    expect(e.rate('1')).toEqual({ bps: 0, pps: 0 });
    e.sample('1', 0, 0, 0);
    e.sample('1', 1000, 1_250_000, 1250); // 10 Mbit/s, 1250 pps
    expect(e.rate('1')).toEqual({ bps: 1e7, pps: 1250 });
    e.sample('1', 2000, 1_250_000, 1250); // silence: a quarter of the way down
    expect(e.rate('1')).toEqual({ bps: 7.5e6, pps: 937.5 });
    expect(e.rate('2')).toEqual({ bps: 0, pps: 0 });
  });
});
