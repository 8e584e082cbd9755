/**
 * Does the arbiter's hot path deoptimise when classes change under traffic? (#15: keep it
 * monomorphic.) A deoptimised pass runs in the interpreter until V8 optimises it again:
 * milliseconds of a slow arbiter, which a tail-delay figure shows and a throughput figure
 * hides.
 *
 * The check runs itself in a child node with `--log-deopt --log-code`, so every isolate
 * writes its deoptimisations, with their times, to a V8 log of its own. The child starts
 * an arbiter (null backend, unpaced, `--scheduler`, 64 classes) fed by two generators
 * flat out, also into 4 classes it will delete and add again, and goes through three
 * phases: warm-up (the JIT settles), settled (traffic only), changes (every few ms: a
 * class's weight changed, the 4 classes deleted — their packets then dropped as
 * unclassified — and added back). The parent reads the arbiter's log (the one whose code
 * includes `admit`), names the optimised function each deopt threw away, and counts them by
 * phase. It fails (exit 1) when a hot function — the pass and what it inlines — deopts
 * after the warm-up because an object's hidden class changed, a dependency broke, or one
 * place deopted twice (see `flawed`).
 *
 *   npm run build && node dist/bench/deopt-check.js [--scheduler drr] [--out FILE]
 *
 * Times: a V8 log counts from its isolate's start, which is within milliseconds after the
 * child creates the worker; phase edges carry MARGIN_MS either side, and a deopt in a
 * margin counts with the later phase (the stricter reading).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { ArbiterHost } from '../src/arbiter/host.js';
import { renderTable } from '../src/report/table.js';
import { startGenerators } from '../traffic/generators.js';
import { slotsFor, weightedClasses } from '../schedulers/weighted-classes.js';
import { benchOptions } from './options.js';

const WARMUP_MS = 3000;
const SETTLED_MS = 1500;
const CHANGES_MS = 3000;
const MARGIN_MS = 100;
const CLASSES = 64;
/** Far above what the machine can release: unpaced. */
const RATE = 1e15;
/** Classes deleted and added again during the changes phase (their traffic is sent throughout). */
const CHURNED = 4;
/** Where the hot path lives: the loop, the schedulers, the stats it writes, its rings and ports. */
const HOT_SOURCES = /\/dist\/(src\/arbiter|schedulers|src\/stats|src\/shm|src\/transmit)\//;

const options = benchOptions('node dist/bench/deopt-check.js [options]: does the arbiter deoptimise under class changes (V8 log)', {
  scheduler: { default: 'drr', help: 'the scheduler whose arbiter is watched: drr, qfq, wf2q or htb' },
  out: { default: 'runs/bench-deopt-check.json', help: 'where the JSON goes' },
  child: { default: '', help: '(internal) the measured process, which the script starts itself', flag: true },
});

/** The child: the arbiter under traffic through the phases; prints their edges (ms since it started the arbiter). */
async function child(scheduler: string): Promise<void> {
  const spawned = performance.now();
  const since = () => performance.now() - spawned;
  const host = await ArbiterHost.start({ poolFrames: 2 * 1024 });
  const weights = new Array<number>(CLASSES + CHURNED).fill(1);
  const classes = weightedClasses(scheduler, weights, RATE);
  const link = await host.addLink({ rate: RATE, scheduler, backend: 'null', maxClasses: slotsFor(scheduler, weights.length), classes });
  const fleet = await startGenerators(
    link,
    2,
    (i) => ({ classes: weights.map((_, c) => c), minSize: 64, maxSize: 1500, packets: Infinity, seed: i + 1 }),
    1024,
  );
  await sleep(WARMUP_MS);
  const settled = since();
  await sleep(SETTLED_MS);
  const changes = since();
  let rounds = 0;
  while (since() < changes + CHANGES_MS) {
    // One class's weight (for htb: its rate and quantum), then the churned classes out and in again.
    const slot = rounds % CLASSES;
    const { slot: _, ...params } = weightedClasses(
      scheduler,
      weights.map((w, c) => (c === slot ? 1 + (rounds % 7) : w)),
      RATE,
    )[slot];
    await link.changeClass(slot, params);
    for (let c = CLASSES; c < CLASSES + CHURNED; c++) await link.deleteClass(c);
    await sleep(2);
    for (let c = CLASSES; c < CLASSES + CHURNED; c++) await link.addClass(classes.find((x) => x.slot === c)!);
    await sleep(2);
    rounds++;
  }
  const quiet = since();
  await sleep(SETTLED_MS);
  const closing = since();
  await fleet.stop();
  const [stats] = await host.close({ drain: false });
  const unclassified = stats.classes.reduce((a, c) => a + c.drops.noClass, 0);
  process.stdout.write(`${JSON.stringify({ settled, changes, quiet, closing, rounds, sent: stats.totals.sent, unclassified })}\n`);
}

interface Deopt {
  ms: number;
  fn: string;
  location: string;
  reason: string;
}

/** The deopts in one V8 log, each named by the optimised function it discarded. */
function deoptsOf(log: string): { deopts: Deopt[]; arbiter: boolean } {
  const names = new Map<string, string>();
  const deopts: Deopt[] = [];
  let arbiter = false;
  for (const line of log.split('\n')) {
    const f = line.split(',');
    if (f[0] === 'code-creation' && f[1] === 'JS') {
      // code-creation,JS,kind,time,address,size,name...
      const name = f.slice(6).join(',');
      names.set(f[4], name);
      if (/^\W?admit /.test(name) || name.startsWith('admit ')) arbiter = true;
    } else if (f[0] === 'code-deopt') {
      // code-deopt,time,size,address,inlining id,script offset,kind,<location>,reason
      deopts.push({ ms: Number(f[1]) / 1000, fn: names.get(f[3]) ?? f[3], location: f[7].replace(/^<|>$/g, ''), reason: f.slice(8).join(',') });
    }
  }
  return { deopts, arbiter };
}

/** The kinds weightedClasses gives classes to by weight (prio's bands are not weights). */
const KINDS = ['drr', 'qfq', 'wf2q', 'htb'];

function parent(): void {
  const scheduler = options.scheduler;
  if (!KINDS.includes(scheduler)) throw new Error(`deopt-check: --scheduler must be one of ${KINDS.join(', ')}, got '${scheduler}'`);
  const out = options.out;
  const dir = mkdtempSync(join(tmpdir(), 'pspat-deopt-'));
  const self = fileURLToPath(import.meta.url);
  const r = spawnSync(process.execPath, ['--log-deopt', '--log-code', `--logfile=${join(dir, 'v8.log')}`, self, '--child', '--scheduler', scheduler], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const last = r.stdout.trim().split('\n').at(-1) ?? '';
    if (r.status !== 0 || !last.startsWith('{')) throw new Error(`deopt-check: the child failed (exit ${r.status})`);
    const edges = JSON.parse(last) as { settled: number; changes: number; quiet: number; closing: number; rounds: number; sent: number; unclassified: number };
    const logs = readdirSync(dir).map((f) => deoptsOf(readFileSync(join(dir, f), 'utf8')));
    const mine = logs.find((l) => l.arbiter);
    if (mine === undefined) throw new Error("deopt-check: no V8 log holds the arbiter's code");
    const phases: [string, number][] = [
      ['warm-up', edges.settled],
      ['settled', edges.changes],
      ['changes', edges.quiet],
      ['after changes', edges.closing],
    ];
    const phaseOf = (ms: number) => phases.find(([, end]) => ms < end - MARGIN_MS)?.[0] ?? 'closing';
    const hot = mine.deopts.filter((d) => HOT_SOURCES.test(d.location));
    const rows = hot.map((d) => [phaseOf(d.ms), `${d.ms.toFixed(0)} ms`, d.fn.split(' ')[0], d.location.replace(/^.*\/dist\//, ''), d.reason]);
    // Stopping changes what the loop checks every pass (`stopping`): its code is thrown away then, on purpose.
    const after = hot.filter((d) => phaseOf(d.ms) !== 'warm-up' && phaseOf(d.ms) !== 'closing');
    // Something the warm-up never showed — a branch first taken (the first packet of a deleted class), a
    // fraction where every weight was 1 — makes V8 deopt once, learn, and optimise again: the JIT's way.
    // An object's hidden class changing (wrong map), a broken dependency, or one place deopting twice
    // (a loop) is a flaw: the hot path is not monomorphic.
    const flawed = (d: Deopt) => d.reason === 'wrong map' || d.reason === 'code dependencies' || after.filter((e) => e.location === d.location).length > 1;
    const flaws = after.filter(flawed);
    process.stdout.write(
      `deopt check: ${scheduler}, ${CLASSES} classes + ${CHURNED} deleted and added again, 2 generators flat out on the null backend\n` +
        `phases (ms since the arbiter started): ${phases.map(([name, end]) => `${name} –${end.toFixed(0)}`).join(', ')}, then closing; ` +
        `${edges.rounds} rounds of changes (a weight changed, ${CHURNED} classes deleted and added); ` +
        `${edges.sent} packets sent, ${edges.unclassified} dropped for want of their class\n\n` +
        (rows.length > 0 ? renderTable(['phase', 'at', 'optimised code discarded', 'deopt at', 'reason'], rows) : 'no deopts in the hot path') +
        `\n\n${after.length - flaws.length} deopts after the warm-up where V8 met what the warm-up had not shown (each once); ` +
        `${flaws.length === 0 ? 'pass: no map change, broken dependency or repeated deopt in the hot path after the warm-up' : `FAIL: ${flaws.length} deopts of the hot path after the warm-up that are not first runs`}\n`,
    );
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify({ params: { scheduler, classes: CLASSES, churned: CHURNED, warmupMs: WARMUP_MS }, edges, deopts: hot }, null, 1)}\n`);
    process.exitCode = flaws.length === 0 ? 0 : 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (options.child !== '') await child(options.scheduler);
else parent();
