/**
 * `pspat demo`: runs the embedded default job (src/demo.ts) and prints a per-class table,
 * or one JSON object with `--json`.
 */
import type { Command } from 'commander';
import { runDemo, DEMO_DEFAULTS, type DemoOptions, type DemoResult } from '../demo.js';
import { parseRate } from '../units.js';
import { schedulerKinds } from '../../schedulers/registry.js';
import { BACKENDS } from '../transmit/ports.js';
import { writeRunFile } from '../report/run-file.js';
import { numberArg } from './parse.js';
import { addFlags, pickFlags, PLACEMENT_FLAGS, STAGE_SAMPLE_FLAG, type FlagTable } from './flags.js';
import { placeProcess, planPlacement } from '../placement.js';
import { progressBar } from './progress.js';
import { formatNs, formatPercent, renderTable } from '../report/table.js';

/** Every DemoOptions field has a flag, or a reason here why not. */
const FLAGS: FlagTable<DemoOptions> = {
  ...PLACEMENT_FLAGS,
  seconds: ['--seconds <n>', 'run time in seconds', numberArg('seconds')],
  rate: ['--rate <rate>', 'link rate in tc units (e.g. 1gbit, 100mbit) or bit/s', (v) => parseRate(v, 'rate')],
  clients: ['--clients <n>', 'generator client workers', numberArg('clients')],
  scheduler: [
    '--scheduler <kind>',
    `scheduler: ${schedulerKinds()
      .map((k) => k.kind)
      .join(' | ')}`,
  ],
  weights: ['--weights <list>', 'class weights, comma separated', (v) => v.split(',').map(numberArg('weights'))],
  minSize: ['--min-size <bytes>', 'smallest packet', numberArg('min-size')],
  maxSize: ['--max-size <bytes>', 'largest packet', numberArg('max-size')],
  limit: ['--limit <packets>', 'per-class queue limit', numberArg('limit')],
  framesPerClient: ['--frames <n>', 'frames each client owns', numberArg('frames')],
  seed: ['--seed <n>', 'generator seed', numberArg('seed')],
  backend: ['--backend <name>', `transmit backend: ${BACKENDS.join(' | ')}`],
  out: ['--out <file>', 'pcap backend: file to write'],
  dev: ['--dev <if>', 'afxdp / afpacket: interface to transmit on'],
  queue: ['--queue <n>', 'afxdp: device queue', numberArg('queue')],
  xdpMode: ['--xdp-mode <mode>', 'afxdp: copy | zerocopy | auto'],
  txWorkers: ['--tx-workers <n>', 'transmit workers (0: transmit inline from the arbiter)', numberArg('tx-workers')],
  warmup: ['--warmup <seconds>', 'traffic before the measurement window opens', numberArg('warmup')],
  stageSample: STAGE_SAMPLE_FLAG,
};

export function registerDemo(program: Command): void {
  const cmd = program.command('demo').description('run the default job: 4 generators, DRR weights 1:2:3:4, 1 Gbit/s link, null backend');
  addFlags(cmd, FLAGS, DEMO_DEFAULTS);
  cmd
    .option('--json', 'print one JSON object instead of a table')
    .option('--save <file>', 'write RUN.json (counters, per-stage histograms, throughput series) for `pspat report`')
    .action(async (opts: { json?: boolean; save?: string }, command: Command) => {
      const { json, save } = opts;
      const demo = pickFlags(FLAGS, command);
      placeProcess(planPlacement(demo, 1));
      const bar = progressBar('demo', { json });
      const { run, ...result } = await runDemo(demo, (f) => bar.update(f)).finally(() => bar.done());
      if (save) writeRunFile(save, [run]);
      process.stdout.write(json ? `${JSON.stringify(result)}\n` : `${formatDemo(result)}\n`);
    });
}

export function formatDemo(r: Omit<DemoResult, 'run'>): string {
  const rows = r.classes.map((c) => [
    String(c.id),
    c.weight,
    formatPercent(c.expectedShare),
    formatPercent(c.share),
    c.packets,
    c.bytes,
    c.drops,
    formatNs(c.delayNs.p50),
    formatNs(c.delayNs.p99),
  ]);
  const t = r.totals;
  return [
    `pspat demo: ${r.scheduler}, link ${(r.rateBps / 1e6).toFixed(0)} Mbit/s, ${r.backend} backend; ` +
      `shares over ${r.seconds}s after warm-up, delays and totals over the whole run`,
    '',
    renderTable(['class', 'weight', 'expected', 'share', 'packets', 'bytes', 'drops', 'p50 delay', 'p99 delay'], rows),
    '',
    `offered ${t.offered}  sent ${t.sent}  dropped ${t.dropped}  queued ${t.queued}` +
      `  (offered = sent + dropped + queued: ${t.offered === t.sent + t.dropped + t.queued ? 'holds' : 'VIOLATED'})`,
    `released ${r.mpps.toFixed(3)} Mpps, ${(r.achievedBps / 1e6).toFixed(1)} Mbit/s on the wire`,
  ].join('\n');
}
