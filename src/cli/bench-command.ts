/**
 * `pspat bench e2e` (src/bench/e2e.ts: raw, kernel tc and pspat on one veth) and `pspat
 * bench arbiter` (src/bench/arbiter.ts: decisions per second vs clients and classes):
 * tables, or JSON with `--json`; `--save FILE` writes RUN.json for `pspat report`.
 */
import type { Command } from 'commander';
import { E2E_DEFAULTS, runE2e, type E2eOptions, type E2eResult } from '../bench/e2e.js';
import { intArg, listArg, numberArg } from './parse.js';
import { formatNs, renderTable } from '../report/table.js';
import { progressBar } from './progress.js';
import { stageSampleNote, writeRunFile, type Run } from '../report/run-file.js';
import {
  ARBITER_BENCH_DEFAULTS,
  arbiterBenchPlacement,
  BASELINE,
  runArbiterBench,
  SATURATED,
  type ArbiterBenchOptions,
  type ArbiterBenchResult,
  type ArbiterPoint,
} from '../bench/arbiter.js';
import { parseRate } from '../units.js';
import { parseLoads } from '../sim/sweep.js';
import { addFlags, PLACEMENT_FLAGS, POOL_FRAMES_FLAG, STAGE_SAMPLE_FLAG } from './flags.js';
import { placeProcess, planPlacement } from '../placement.js';
import { STALL_NS } from '../stats/loop-stats.js';

const pct = (x: number | null) => (x === null ? '-' : `${(x * 100).toFixed(2)}%`);

function formatE2e(r: Omit<E2eResult, 'runs'>): string {
  const p = r.params;
  const raw = r.modes.raw?.mpps;
  const head =
    `bench e2e: veth into a sink namespace, ${p.size} B frames, ${p.seconds}s per phase; raw: ${p.backend} (${p.xdpMode}), 1 thread; ` +
    `tc: ${p.clients} AF_PACKET threads through htb; pspat: ${p.clients} clients, ${p.scheduler}, ${p.backend}, ${p.txWorkers} tx workers; ` +
    `${p.classes} classes, ${p.rate ? `link ${p.rate / 1e6} Mbit/s` : 'unshaped'}`;
  const rows = Object.entries(r.modes).map(([m, v]) => [
    m,
    v.mpps.toFixed(3),
    v.gbps.toFixed(3),
    raw ? `${((v.mpps / raw) * 100).toFixed(0)}%` : '-',
    pct(v.shareError),
    pct(v.rateAccuracy),
  ]);
  const throughput = renderTable(['mode', 'Mpps', 'Gbit/s', 'vs raw', 'share error', 'rate delivered'], rows);
  const delay = renderTable(
    ['mode', 'load', 'Mpps', 'timed', 'p50', 'p90', 'p99', 'p99.9', 'arbiter stalls', 'arbiter GCs', 'arbiter off CPU', 'host steal'],
    Object.entries(r.modes).flatMap(([m, v]) =>
      v.loads.map((l) => [
        m,
        `${Math.round(l.load * 100)}%`,
        l.mpps.toFixed(3),
        l.timedPackets,
        ...[l.latencyNs.p50, l.latencyNs.p90, l.latencyNs.p99, l.latencyNs.p999].map(formatNs),
        l.arbiterStalls === null ? '-' : `${l.arbiterStalls.count}${l.arbiterStalls.count > 0 ? ` (${formatNs(l.arbiterStalls.ns)})` : ''}`,
        l.arbiterCollections === null
          ? '-'
          : `${l.arbiterCollections.count}${l.arbiterCollections.count > 0 ? ` (longest ${formatNs(l.arbiterCollections.maxNs)})` : ''}`,
        l.arbiterWaits === null
          ? '-'
          : `${formatNs(l.arbiterWaits.runDelayNs)} waiting, ${l.arbiterWaits.preemptions} preempted, ${l.arbiterWaits.blocks} blocked`,
        l.hostStealNs > 0 ? formatNs(l.hostStealNs) : '0',
      ]),
    ),
  );
  const stageRows = Object.entries(r.modes).flatMap(([m, v]) =>
    v.loads.flatMap((l) => {
      const load = `${Math.round(l.load * 100)}%`;
      const rows = Object.entries(l.stagesNs ?? {}).map(([stage, d]) => [m, load, stage, ...[d.p50, d.p90, d.p99, d.p999].map(formatNs), '']);
      const w = l.arbiterWakeNs;
      if (w !== null && w.wakes > 0) rows.push([m, load, 'wake', ...[w.p50, w.p90, w.p99, w.p999].map(formatNs), String(w.wakes)]);
      return rows;
    }),
  );
  const stages =
    stageRows.length > 0
      ? `\npspat's own stages in the same windows (mailbox: client → arbiter; queue: arbiter → release; tx: release → completion; wake: a client's ring → the parked arbiter running, how often)\n${renderTable(['mode', 'load', 'stage', 'p50', 'p90', 'p99', 'p99.9', 'wakes'], stageRows)}\n`
      : '';
  const modes = Object.keys(r.clientsCurve[0]?.mpps ?? {}) as (keyof E2eResult['modes'])[];
  const first = r.clientsCurve[0];
  const curve = renderTable(
    ['senders', ...modes.flatMap((m) => [`${m} Mpps`, `${m} vs ${first?.clients} senders`])],
    r.clientsCurve.map((c) => [c.clients, ...modes.flatMap((m) => [c.mpps[m]!.toFixed(3), `${((c.mpps[m]! / first!.mpps[m]!) * 100).toFixed(0)}%`])]),
  );
  const senders =
    r.clientsCurve.length > 0
      ? `
senders curve: saturation as senders are added (tc: sender threads into one htb; pspat: clients, one mailbox each)
${curve}
`
      : '';
  const where = `threads: ${p.placement}${p.loadHogs > 0 ? `; ${p.loadHogs} CPU hogs running` : ''}`;
  const sinks = [...new Set(Object.values(r.modes).flatMap((v) => v.loads.map((l) => (l.sink === 'xdp' ? 'its XDP program' : 'an AF_PACKET socket'))))].join(
    ', ',
  );
  return `${head}\n${where}\n\nsaturation\n${throughput}\n${senders}${p.loads.length > 0 ? `\none-way delay, paced at a fraction of ${p.loadsOf === 'own' ? "each mode's own saturation rate" : `${p.loadsOf}'s saturation rate, every mode alike`} (kernel arrival stamps at the sink: ${sinks}); arbiter stalls: times pspat's arbiter went ≥ ${formatNs(STALL_NS)} without a pass, not parked (off its CPU, or a collection), and their total; arbiter GCs: the collections its isolate made in the window, and the longest; arbiter off CPU: the kernel's counts for its thread — time runnable but not running (preempted, or woken and waiting for a CPU), times preempted, times it blocked itself (its parks, a page fault, a lock); host steal: CPU time the hypervisor took from this VM in the window (all CPUs, to 10 ms)\n${delay}\n${stages}` : ''}`;
}

export function registerBench(program: Command): void {
  const bench = program.command('bench').description('benchmarks with a baseline in the same run');
  const e2e = bench
    .command('e2e')
    .description("one veth, three ways: the raw backend, the kernel's htb (tc), and pspat — Mpps, shares, one-way delay")
    .option('--backend <name>', `raw and pspat modes' port: afxdp | afpacket (default: ${E2E_DEFAULTS.backend})`)
    .option('--modes <list>', `modes in order (default: ${E2E_DEFAULTS.modes.join(',')})`, (v) => v.split(','))
    .option(
      '--clients <list>',
      `tc sender threads, pspat generator clients; a list adds the senders curve (tc and pspat saturated at each count), the first count for everything else (default: ${E2E_DEFAULTS.clients})`,
      listArg('clients'),
    )
    .option('--classes <n>', `classes, equal weights (default: ${E2E_DEFAULTS.classes})`, intArg('classes'))
    .option('--scheduler <kind>', `scheduler in pspat mode (default: ${E2E_DEFAULTS.scheduler})`)
    .option('--size <bytes>', `frame size (default: ${E2E_DEFAULTS.size})`, intArg('size'))
    .option('--seconds <n>', `seconds per phase (default: ${E2E_DEFAULTS.seconds})`, numberArg('seconds'))
    .option('--rate <rate>', 'shape the link at this rate (tc units) in tc and pspat modes (default: unshaped)', (v) => parseRate(v, 'rate'))
    .option('--loads <list>', `loads (fractions of each mode's saturation) for one-way delay (default: ${E2E_DEFAULTS.loads.join(',')})`, parseLoads)
    .option('--no-latency', 'skip the delay phases')
    .option(
      '--loads-of <mode>',
      "the mode whose saturation the loads are fractions of, listed first in --modes, so every mode is timed at one packet rate (default: each mode's own)",
    )
    .option('--xdp-mode <mode>', `AF_XDP bind mode (default: ${E2E_DEFAULTS.xdpMode})`)
    .option('--tx-workers <n>', `transmit workers in pspat mode (default: ${E2E_DEFAULTS.txWorkers})`, intArg('tx-workers'))
    .option('--load-hogs <n>', `busy CPU hogs at normal priority through every mode: a busy host (default: ${E2E_DEFAULTS.loadHogs})`, intArg('load-hogs'))
    .option('--json', 'print JSON instead of tables')
    .option('--save <file>', 'write RUN.json (a run per mode: stages, e2e per class, delay vs load) for `pspat report`');
  addFlags(e2e, PLACEMENT_FLAGS);
  e2e.action(async (opts: Omit<E2eOptions, 'clients'> & { clients?: number[]; json?: boolean; save?: string; latency: boolean }) => {
    const { json, save, latency, clients, ...rest } = opts;
    const o: E2eOptions = { ...rest, ...(clients && { clients: clients[0] }), ...(clients && clients.length > 1 && { clientsCurve: clients }) };
    if (!latency) o.loads = [];
    placeProcess(planPlacement(o, 1));
    const bar = progressBar('bench e2e', { json });
    const { runs, ...r } = await runE2e(o, (f) => bar.update(f)).finally(() => bar.done());
    if (save) writeRunFile(save, runs);
    process.stdout.write(json ? `${JSON.stringify(r)}\n` : formatE2e(r));
  });
  const arbiter = bench
    .command('arbiter')
    .description('arbiter decisions per second on the null backend as clients and classes grow, FIFO as the baseline')
    .option('--clients <list>', `client (mailbox) counts (default: ${ARBITER_BENCH_DEFAULTS.clients.join(',')})`, listArg('clients'))
    .option('--classes <list>', `class counts (default: ${ARBITER_BENCH_DEFAULTS.classes.join(',')})`, listArg('classes'))
    .option('--scheduler <kind>', `scheduler measured beside fifo (default: ${ARBITER_BENCH_DEFAULTS.scheduler})`)
    .option('--seconds <n>', `seconds per point (default: ${ARBITER_BENCH_DEFAULTS.seconds})`, numberArg('seconds'))
    .option('--json', 'print JSON instead of a table')
    .option('--save <file>', 'write RUN.json: one run per scheduler, a class per point with its figures');
  addFlags(arbiter, { stageSample: STAGE_SAMPLE_FLAG, poolFrames: POOL_FRAMES_FLAG }, ARBITER_BENCH_DEFAULTS);
  arbiter.action(async (opts: ArbiterBenchOptions & { json?: boolean; save?: string }) => {
    const { json, save, ...o } = opts;
    placeProcess(planPlacement(arbiterBenchPlacement(), 1));
    const bar = progressBar('bench arbiter', { json });
    const r = await runArbiterBench(o, (done, total) => bar.update(done / total)).finally(() => bar.done());
    if (save) writeRunFile(save, arbiterRuns(r));
    if (json) {
      process.stdout.write(`${JSON.stringify(r)}\n`);
      return;
    }
    const p = r.params;
    const at = (kind: string, clients: number, classes: number) =>
      r.points.find((x) => x.scheduler === kind && x.clients === clients && x.classes === classes)!;
    const rows = p.classes.flatMap((classes) =>
      p.clients.map((clients) => {
        const base = at(BASELINE, clients, classes);
        const s = at(p.scheduler, clients, classes);
        const fig = (x: ArbiterPoint) => `${x.mdps.toFixed(2)} ±${(x.spread * 50).toFixed(0)}%${x.saturated ? '' : ' feeder-limited'}`;
        return [
          classes,
          clients,
          fig(base),
          fig(s),
          `${s.nsPerDecision.toFixed(0)} ns`,
          `${((s.mdps / base.mdps) * 100).toFixed(0)}%`,
          `${(s.fullPassFraction * 100).toFixed(0)}%`,
          s.meanBatch.toFixed(1),
          formatNs(s.passP50Ns),
          `${s.windowGcs}${s.windowGcs > 0 ? ` (${formatNs(s.windowGcMaxNs)})` : ''} of ${s.gcs}`,
        ];
      }),
    );
    process.stdout.write(
      `arbiter, null backend, unpaced, one feeder thread, ${p.poolFrames} frames; M decisions/s, median of ${p.repeats} runs (each a fresh arbiter: ${p.warmupMs / 1000}s warm-up, then ${p.seconds}s measured; ± half the spread across runs)\n` +
        `per-class counters exact; ${stageSampleNote(p.stageSample)}\n` +
        `threads: ${p.placement}; a point is the arbiter's only when ≥ ${SATURATED * 100}% of its passes found a full batch waiting (in its mailboxes or its queues), else 'feeder-limited'\n\n` +
        renderTable(
          [
            'classes',
            'clients',
            `${BASELINE} Mdps`,
            `${p.scheduler} Mdps`,
            `${p.scheduler} ns/dec`,
            'vs fifo',
            'full passes',
            'batch',
            'pass p50',
            `${p.scheduler} GCs measured (longest) of all`,
          ],
          rows,
        ) +
        '\n',
    );
  });
}

function arbiterRuns(r: ArbiterBenchResult): Run[] {
  const kinds = [...new Set(r.points.map((x) => x.scheduler))];
  return kinds.map((kind) => ({
    name: `bench arbiter ${kind}`,
    kind: 'bench',
    createdAt: new Date().toISOString(),
    config: { ...r.params, scheduler: kind },
    counters: {},
    classes: r.points
      .filter((x) => x.scheduler === kind)
      .map((x) => ({
        id: `clients=${x.clients} classes=${x.classes}`,
        counters: {
          mdps: x.mdps,
          nsPerDecision: x.nsPerDecision,
          spread: x.spread,
          fullPassFraction: x.fullPassFraction,
          meanBatch: x.meanBatch,
          passP50Ns: x.passP50Ns,
          gcs: x.gcs,
          gcMaxNs: x.gcMaxNs,
          windowGcs: x.windowGcs,
          windowGcMaxNs: x.windowGcMaxNs,
        },
        stages: {},
      })),
  }));
}
