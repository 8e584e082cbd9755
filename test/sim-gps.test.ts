/**
 * The fluid GPS reference on cases worked out by hand (link at 1 byte/ns).
 */
import { describe, expect, it } from 'vitest';
import { FluidGps } from '../src/sim/gps.js';

describe('fluid GPS', () => {
  it('serves a saturating flow beside a finite one in proportion to weight, then alone', () => {
    // Flow 1 (weight 3) brings 3000 B at 0: it gets 3/4 of the link and empties at 4000 ns,
    // by when flow 0 (weight 1, always backlogged) has 1000 B; then flow 0 has the link.
    const gps = new FluidGps([1, 3], [true, false], 1);
    gps.arrive(1, 3000, 0);
    gps.advanceTo(2000);
    expect(gps.served(1)).toBeCloseTo(1500, 6);
    expect(gps.served(0)).toBeCloseTo(500, 6);
    gps.advanceTo(6000);
    expect(gps.served(1)).toBeCloseTo(3000, 6);
    expect(gps.served(0)).toBeCloseTo(3000, 6);
  });

  it('splits the link while both are backlogged and gives it to the one left', () => {
    // Flow 0: 1000 B at 0, alone until 500 ns (500 B); then half each: flow 0 empties at
    // 1500 ns; flow 1 (1000 B at 500 ns) has 500 B by then and finishes alone at 2000 ns.
    const gps = new FluidGps([1, 1], [false, false], 1);
    gps.arrive(0, 1000, 0);
    gps.arrive(1, 1000, 500);
    gps.advanceTo(1000);
    expect(gps.served(0)).toBeCloseTo(750, 6);
    expect(gps.served(1)).toBeCloseTo(250, 6);
    gps.advanceTo(1500);
    expect(gps.served(0)).toBeCloseTo(1000, 6);
    expect(gps.served(1)).toBeCloseTo(500, 6);
    gps.advanceTo(5000);
    expect(gps.served(1)).toBeCloseTo(1000, 6);
  });

  it('restarts from an idle period without crediting the idle time', () => {
    const gps = new FluidGps([1, 1], [false, false], 1);
    gps.arrive(0, 100, 0);
    gps.advanceTo(10_000); // idle from 100 ns on
    gps.arrive(0, 100, 10_000);
    gps.arrive(1, 100, 10_000);
    gps.advanceTo(10_100);
    expect(gps.served(0)).toBeCloseTo(150, 6);
    expect(gps.served(1)).toBeCloseTo(50, 6);
  });

  it('extends a backlogged flow by its new packets (finish tags add up)', () => {
    const gps = new FluidGps([2, 1], [false, true], 1);
    gps.arrive(0, 600, 0);
    gps.arrive(0, 600, 100); // still backlogged: 1200 B at 2/3 of the link = done at 1800 ns
    gps.advanceTo(1800);
    expect(gps.served(0)).toBeCloseTo(1200, 6);
    expect(gps.served(1)).toBeCloseTo(600, 6);
  });
});
