/** tc police on the arbiter: a token bucket of `burst` bytes filling at `rate` (GCRA). */
import { describe, expect, it } from 'vitest';
import { Policers } from '../src/arbiter/policers.js';

describe('policers', () => {
  it('lets a burst of `burst` bytes through at once, then nothing more until tokens come back', () => {
    const p = new Policers();
    p.set([{ rate: 1e6, burst: 10_000, exceed: 'drop' }]);
    const admitted = Array.from({ length: 12 }, () => p.admit(0, 1000, 0));
    expect(admitted.filter(Boolean)).toHaveLength(10);
    expect(p.admit(0, 1000, 7.9e6)).toBe(false); // 1000 B take 8 ms at 1 Mbit/s
    expect(p.admit(0, 1000, 8.1e6)).toBe(true);
  });

  it('holds a flow at twice its rate to the rate (plus one burst) over 10 s, within 1%', () => {
    const p = new Policers();
    p.set([{ rate: 1e6, burst: 10_000, exceed: 'drop' }]);
    let bytes = 0;
    for (let t = 0; t < 10e9; t += 4e6) if (p.admit(0, 1000, t)) bytes += 1000;
    expect(Math.abs(bytes / (1.25e6 + 10_000) - 1)).toBeLessThan(0.01);
  });

  it('only `drop` discards; `pass` lets everything through; no policer means no metering', () => {
    const p = new Policers();
    p.set([{ rate: 1e6, burst: 1000, exceed: 'pass' }]);
    for (let i = 0; i < 100; i++) expect(p.admit(0, 1500, 0)).toBe(true);
    expect(p.admit(-1, 1500, 0)).toBe(true);
    expect(p.admit(5, 1500, 0)).toBe(true);
  });
});
