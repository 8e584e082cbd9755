import { describe, expect, it } from 'vitest';
import { parseRate, parseSize, parseTimeUs } from '../src/units.js';
import { maxMinFairShares } from '../src/stats/fair-share.js';

describe('tc units', () => {
  it.each([
    ['1gbit', 1e9],
    ['100Mbit', 1e8],
    ['1.5kbit', 1500],
    ['8', 8],
    ['1mbps', 8e6],
    ['1KiBit', 1024],
    ['4294967295kbps', 4294967295 * 8e3],
    ['1e9', 1e9],
  ])('rate %s = %d bit/s', (text, bps) => expect(parseRate(text)).toBe(bps));

  it.each([
    ['1500', 1500],
    ['1k', 1024],
    ['1.5kb', 1536],
    ['2m', 2 ** 21],
    ['8kbit', 1024],
  ])('size %s = %d bytes', (text, bytes) => expect(parseSize(text)).toBe(bytes));

  it.each([
    ['1s', 1e6],
    ['5ms', 5000],
    ['100us', 100],
    ['20msec', 20000],
  ])('time %s = %d µs', (text, us) => expect(parseTimeUs(text)).toBe(us));

  it('names the field and the bad value', () => {
    expect(() => parseRate('-5', 'rate')).toThrow("rate: invalid rate '-5'");
    expect(() => parseRate('10furlongs', 'ceil')).toThrow("ceil: invalid rate '10furlongs'");
  });
});

describe('weighted max-min fair shares', () => {
  it('splits a saturated link by weight and gives leftovers of small demands to the rest', () => {
    expect(maxMinFairShares([100, 100], [1, 3], 40)).toEqual([10, 30]);
    expect(maxMinFairShares([5, 100, 100], [1, 1, 2], 65)).toEqual([5, 20, 40]);
    expect(maxMinFairShares([5, 7], [1, 1], 100)).toEqual([5, 7]);
  });
});
