import { describe, expect, it } from 'vitest';
import { pspat as run } from './helpers/cli.js';

const pspat = (...args: string[]) => run(args);

describe('pspat demo', () => {
  it('prints one JSON object with the documented shape; DRR shares within 2% of 1:2:3:4', async () => {
    const r = await pspat('demo', '--seconds', '1.5', '--rate', '200mbit', '--json');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.classes).toHaveLength(4);
    for (const [i, c] of out.classes.entries()) {
      expect(Object.keys(c).sort()).toEqual(['bytes', 'delayNs', 'drops', 'expectedShare', 'id', 'packets', 'share', 'weight']);
      expect(c.weight).toBe(i + 1);
      expect(c.expectedShare).toBeCloseTo((i + 1) / 10, 6);
      expect(Math.abs(c.share - c.expectedShare)).toBeLessThan(0.02);
      expect(c.delayNs.p99).toBeGreaterThanOrEqual(c.delayNs.p50);
    }
    const t = out.totals;
    expect(t.offered).toBe(t.sent + t.dropped + t.queued);
    expect(out.mpps).toBeGreaterThan(0);
  });

  it('prints the table with totals', async () => {
    const r = await pspat('demo', '--seconds', '0.5', '--scheduler', 'fifo', '--clients', '2');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^class\s+weight\s+expected\s+share\s+packets\s+bytes\s+drops\s+p50 delay\s+p99 delay$/m);
    expect(r.stdout).toMatch(/offered = sent \+ dropped \+ queued: holds/);
  });

  it.each([
    [['--rate', '-100mbit'], "pspat: rate: invalid rate '-100mbit'"],
    [['--weights', '1,0,3'], 'pspat: classes[1].weight: must be an integer in [1, 2147483647], got 0'],
    [['--scheduler', 'wfq'], "pspat: scheduler: unknown scheduler 'wfq' (known: fifo, drr, qfq, wf2q, prio, htb, sfq, fq_codel)"],
    [['--max-size', '9000'], 'pspat: size: largest packet must be an integer in [64, 2048] (the frame size), got 9000'],
    [['--clients', '0'], 'pspat: clients: must be an integer in [1, 256], got 0'],
  ])('rejects %j with one line naming the field and exit 1', async (args, message) => {
    const r = await pspat('demo', ...args);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr.trim().startsWith(message)).toBe(true);
    expect(r.stdout).toBe('');
  });
});
