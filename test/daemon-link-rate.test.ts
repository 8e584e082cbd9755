/** Which rate a newly managed device's link clock runs at. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Daemon } from '../src/daemon/daemon.js';
import type { QdiscSpec } from '../src/tc/model.js';

const HTB: QdiscSpec = { kind: 'htb', defaultClass: 0, r2q: 10 };
const TBF: QdiscSpec = { kind: 'tbf', rate: 1e7, burst: 10_000, limit: 20_000 };

describe('link rate of a managed device', () => {
  let d: Daemon;
  beforeAll(async () => {
    d = await Daemon.start({ rates: { given0: 5e8 }, poolFrames: 1024 });
  });
  afterAll(async () => {
    await d?.close();
  });

  it('is --rate DEV=R first, then the root qdisc’s own ceiling, then 1 Gbit/s', () => {
    expect(d.linkRate('given0', TBF)).toBe(5e8);
    expect(d.linkRate('nosuchdev0', TBF)).toBe(1e7);
    expect(d.linkRate('nosuchdev0', { ...TBF, peakrate: 2e7 })).toBe(2e7);
    expect(d.linkRate('nosuchdev0', HTB)).toBe(1e9);
  });
});
