/**
 * Soak: many clients and classes, live reconfiguration every few hundred milliseconds,
 * for a bounded time (`npm run soak`, not in the default suite). Checks at the end, and
 * exits non-zero when one fails:
 *   - conservation, exactly: offered = sent + dropped + queued;
 *   - no frame leaks: frames back in the free rings + frames the generators still held =
 *     the pool;
 *   - memory flat: heap and RSS in the last quarter of the run within 20% (and 64 MiB) of
 *     the first quarter's.
 * Prints a table of samples and a verdict; JSON to runs/soak.json (or --out FILE).
 *
 *   npm run soak [-- --seconds 180] [-- --clients 8] [-- --classes 256]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { startGenerators } from '../traffic/generators.js';
import { ArbiterHost } from '../src/arbiter/host.js';
import { renderTable } from '../src/report/table.js';
import { Rng } from '../src/random.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
}
const seconds = Number(arg('seconds', '180'));
const clients = Number(arg('clients', '8'));
const classes = Number(arg('classes', '256'));
const out = arg('out', 'runs/soak.json');
const CHANGE_MS = 300;
const SAMPLE_MS = 5000;
const FRAMES_PER_CLIENT = 1024;
const RATE = 2e9;
/** Class slots that come and go (the rest stay, so traffic always has somewhere to go). */
const VOLATILE = Math.max(1, Math.floor(classes / 4));

const rng = new Rng(7);
const host = await ArbiterHost.start({ poolFrames: clients * FRAMES_PER_CLIENT });
const link = await host.addLink({
  rate: RATE,
  scheduler: 'drr',
  maxClasses: classes,
  classes: Array.from({ length: classes }, (_, slot) => ({ slot, weight: 1 + (slot % 8), limitPackets: 128 })),
});
const all = Array.from({ length: classes }, (_, i) => i);
const fleet = await startGenerators(link, clients, (i) => ({ classes: all, minSize: 64, maxSize: 1500, packets: Infinity, seed: i + 1 }), FRAMES_PER_CLIENT);
await fleet.started;

const present = new Set(all);
let changes = 0;
let refused = 0;
const samples: { t: number; heapMB: number; rssMB: number; sent: number; changes: number }[] = [];
const start = Date.now();
let nextSample = start;
while (Date.now() - start < seconds * 1000) {
  await new Promise((r) => setTimeout(r, CHANGE_MS));
  // One live change: a weight, a deletion or a re-addition among the volatile slots.
  const slot = classes - 1 - rng.int(0, VOLATILE - 1);
  try {
    if (!present.has(slot)) {
      await link.addClass({ slot, weight: rng.int(1, 16), limitPackets: 128 });
      present.add(slot);
    } else if (rng.int(0, 2) === 0) {
      await link.deleteClass(slot);
      present.delete(slot);
    } else {
      await link.changeClass(slot, { weight: rng.int(1, 64), limitPackets: rng.int(16, 512) });
    }
    changes++;
  } catch {
    refused++; // a change the scheduler refuses is counted, never fatal
  }
  if (Date.now() >= nextSample) {
    const m = process.memoryUsage();
    const s = await link.stats();
    samples.push({ t: (Date.now() - start) / 1000, heapMB: m.heapUsed / 2 ** 20, rssMB: m.rss / 2 ** 20, sent: s.totals.sent, changes });
    nextSample += SAMPLE_MS;
  }
}
const results = await fleet.stop();
const [final] = await host.close({ drain: true, timeoutMs: 5000 });
const t = final.totals;
const held = results.reduce((a, r) => a + r.held, 0);
const free = link.freeFrames();
const quarter = Math.max(1, Math.floor(samples.length / 4));
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const early = samples.slice(0, quarter);
const late = samples.slice(-quarter);
const grew = (k: 'heapMB' | 'rssMB') => mean(late.map((s) => s[k])) - mean(early.map((s) => s[k]));
const flat = (k: 'heapMB' | 'rssMB') => grew(k) <= Math.max(64, 0.2 * mean(early.map((s) => s[k])));
const checks = {
  conservation: t.offered === t.sent + t.dropped + t.queued,
  noFrameLeak: free + held === clients * FRAMES_PER_CLIENT,
  heapFlat: flat('heapMB'),
  rssFlat: flat('rssMB'),
};

console.log(`soak: ${seconds}s, ${clients} clients, ${classes} drr classes (${VOLATILE} coming and going), a live change every ${CHANGE_MS} ms`);
console.log(
  renderTable(
    ['t (s)', 'heap MiB', 'rss MiB', 'sent', 'changes'],
    samples.map((s) => [s.t.toFixed(0), s.heapMB.toFixed(1), s.rssMB.toFixed(1), s.sent, s.changes]),
  ),
);
console.log(`changes applied ${changes}, refused ${refused}`);
console.log(`offered ${t.offered} = sent ${t.sent} + dropped ${t.dropped} + queued ${t.queued}: ${checks.conservation ? 'holds' : 'VIOLATED'}`);
console.log(
  `frames: ${free} free + ${held} held by generators = ${free + held} of ${clients * FRAMES_PER_CLIENT}: ${checks.noFrameLeak ? 'none leaked' : 'LEAK'}`,
);
console.log(
  `memory: heap ${grew('heapMB').toFixed(1)} MiB, rss ${grew('rssMB').toFixed(1)} MiB from the first quarter to the last: ${checks.heapFlat && checks.rssFlat ? 'flat' : 'GREW'}`,
);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(
  out,
  `${JSON.stringify({ date: new Date().toISOString(), seconds, clients, classes, changes, refused, totals: t, free, held, samples, checks }, null, 2)}\n`,
);
process.exit(Object.values(checks).every(Boolean) ? 0 : 1);
