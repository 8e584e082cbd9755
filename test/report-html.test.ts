/**
 * The HTML report in a real browser: Debian's chromium, driven by playwright-core. CI
 * installs chromium and sets PSPAT_REQUIRE_BROWSER=1, which turns a missing browser into
 * a failure instead of a skip.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { pspat } from './helpers/cli.js';

const CHROMIUM = '/usr/bin/chromium';
const haveBrowser = existsSync(CHROMIUM);
if (!haveBrowser && process.env.PSPAT_REQUIRE_BROWSER === '1') throw new Error(`PSPAT_REQUIRE_BROWSER=1 but ${CHROMIUM} is missing (apt-get install chromium)`);
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

describe.skipIf(!haveBrowser)('pspat report --format html in headless Chromium', () => {
  it('renders every plot without console errors or fetches; the screenshot is not blank', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pspat-html-'));
    const out = join(dir, 'report.html');
    const r = await pspat(['report', fixture('run-a.json'), fixture('run-b.json'), '--format', 'html', '--out', out]);
    expect(r.code).toBe(0);

    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1000, height: 800 } });
      const problems: string[] = [];
      const requests: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
      page.on('request', (q) => requests.push(q.url()));
      await page.goto(pathToFileURL(out).href, { waitUntil: 'load' });

      // CDFs and by-percentile plots of the four stages, run A's throughput over time, run B's delay vs load.
      const titles = await page.locator('svg').evaluateAll((svgs) => svgs.map((s) => s.getAttribute('aria-label')));
      const stages = [
        'mailbox wait (client hand-over → arbiter drain)',
        'scheduler queueing (drain → release)',
        'transmit (release → completion)',
        'end-to-end one-way delay (client → sink)',
      ];
      expect(titles).toEqual([
        ...stages.map((s) => `CDF: ${s}`),
        ...stages.map((s) => `By percentile: ${s}`),
        'drr on veth0: throughput over time',
        'qfq, load sweep: end-to-end one-way delay (client → sink) vs offered load',
      ]);
      // Every text fits in its plot (legends included), and no two tick labels on the x axis overlap.
      const layout = await page.locator('svg').evaluateAll((svgs) =>
        svgs.map((s) => {
          const box = s.getBoundingClientRect();
          const texts = [...s.querySelectorAll('text')].map((t) => t.getBoundingClientRect());
          const xTicks = texts.filter((t) => t.top > box.top + 360 - 46 && t.top < box.top + 360 - 22).sort((a, b) => a.left - b.left);
          return {
            outside: texts.filter((t) => t.left < box.left - 0.5 || t.right > box.right + 0.5).length,
            overlaps: xTicks.slice(1).filter((t, i) => t.left < xTicks[i].right).length,
          };
        }),
      );
      for (const [i, l] of layout.entries()) expect(l, titles[i] ?? '').toEqual({ outside: 0, overlaps: 0 });
      // The by-percentile axis runs from 0% to p99.99.
      const ticks = await page.locator('svg').nth(5).locator('text').allTextContents();
      expect(ticks).toEqual(expect.arrayContaining(['0%', '90%', '99%', '99.9%', '99.99%']));
      // Every plot is laid out with a size and draws lines with points.
      const boxes = await page.locator('svg').evaluateAll((svgs) =>
        svgs.map((s) => {
          const b = s.getBoundingClientRect();
          const lines = [...s.querySelectorAll('polyline')].map((p) => (p.getAttribute('points') ?? '').split(' ').filter(Boolean).length);
          return { w: b.width, h: b.height, lines };
        }),
      );
      for (const b of boxes) {
        expect(b.w).toBe(720);
        expect(b.h).toBe(360);
        expect(b.lines.length).toBeGreaterThan(0);
        expect(Math.min(...b.lines)).toBeGreaterThan(1);
      }
      const tableRows = await page.locator('table').nth(1).locator('tbody tr').count();
      expect(tableRows).toBe(5);

      // Not blank: decode the screenshot in the page and count the pixels that are not white.
      const png = await page.screenshot({ fullPage: true });
      const inked = await page.evaluate(async (b64) => {
        const img = new Image();
        img.src = `data:image/png;base64,${b64}`;
        await img.decode();
        const c = document.createElement('canvas');
        c.width = img.width;
        c.height = img.height;
        const ctx = c.getContext('2d')!;
        ctx.drawImage(img, 0, 0);
        const px = ctx.getImageData(0, 0, c.width, c.height).data;
        let ink = 0;
        const colours = new Set<number>();
        for (let i = 0; i < px.length; i += 4) {
          if (px[i] < 240 || px[i + 1] < 240 || px[i + 2] < 240) ink++;
          colours.add((px[i] << 16) | (px[i + 1] << 8) | px[i + 2]);
        }
        return { fraction: ink / (px.length / 4), colours: colours.size, height: img.height };
      }, png.toString('base64'));
      expect(inked.height).toBeGreaterThan(6 * 360);
      expect(inked.fraction).toBeGreaterThan(0.02);
      expect(inked.colours).toBeGreaterThan(20);

      expect(problems).toEqual([]);
      // The page is self-contained: the only request is the file itself.
      expect(requests).toEqual([pathToFileURL(out).href]);
    } finally {
      await browser.close();
    }
  }, 60_000);
});
