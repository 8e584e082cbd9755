/**
 * `pspat bench e2e`: raw backend vs the full pspat path on one veth (src/bench/e2e.ts);
 * prints a table, or JSON with `--json`, and writes JSON with `--save FILE`.
 */
import type { Command } from 'commander';
import { E2E_DEFAULTS, runE2e, type E2eOptions } from '../bench/e2e.js';
import { intArg, numberArg } from './parse.js';
import { formatNs, renderTable } from './table.js';
import { progressBar } from './progress.js';
import { writeRunFile } from '../report/run-file.js';

export function registerBench(program: Command): void {
  const bench = program.command('bench').description('benchmarks with a baseline in the same run');
  bench
    .command('e2e')
    .description('packets per second at a sink namespace: the raw backend alone vs the full pspat path')
    .option('--backend <name>', `afxdp | afpacket (default: ${E2E_DEFAULTS.backend})`)
    .option('--modes <list>', 'raw,pspat', (v) => v.split(','))
    .option('--clients <n>', `generator clients in pspat mode (default: ${E2E_DEFAULTS.clients})`, intArg('clients'))
    .option('--classes <n>', `classes in pspat mode (default: ${E2E_DEFAULTS.classes})`, intArg('classes'))
    .option('--scheduler <kind>', `scheduler in pspat mode (default: ${E2E_DEFAULTS.scheduler})`)
    .option('--size <bytes>', `frame size (default: ${E2E_DEFAULTS.size})`, intArg('size'))
    .option('--seconds <n>', `seconds per mode (default: ${E2E_DEFAULTS.seconds})`, numberArg('seconds'))
    .option('--xdp-mode <mode>', `AF_XDP bind mode (default: ${E2E_DEFAULTS.xdpMode})`)
    .option('--tx-workers <n>', `transmit workers in pspat mode (default: ${E2E_DEFAULTS.txWorkers})`, intArg('tx-workers'))
    .option('--latency', 'stamp frames and time their arrival at the sink (kernel timestamps): one-way delay per mode and class')
    .option('--json', 'print JSON instead of a table')
    .option('--save <file>', 'write RUN.json (one run per mode, pspat\'s per-class stage histograms) for `pspat report`')
    .action(async (opts: E2eOptions & { json?: boolean; save?: string }) => {
      const { json, save, ...o } = opts;
      const bar = progressBar('bench e2e', { json });
      const { runs, ...r } = await runE2e(o, (f) => bar.update(f)).finally(() => bar.done());
      const text = JSON.stringify(r);
      if (save) writeRunFile(save, runs);
      if (json) {
        process.stdout.write(`${text}\n`);
        return;
      }
      const p = r.params;
      const raw = r.modes.raw?.mpps;
      process.stdout.write(
        `e2e: ${p.backend} (${p.xdpMode}) on veth, ${p.size} B frames, ${p.seconds}s per mode; ` +
          `pspat: ${p.clients} clients, ${p.classes} classes, ${p.scheduler}, ${p.txWorkers} tx workers\n\n` +
          renderTable(
            ['mode', 'Mpps', 'Gbit/s', 'sink packets', 'vs raw', ...(p.latency ? ['timed', 'p50', 'p90', 'p99', 'p99.9'] : [])],
            Object.entries(r.modes).map(([m, v]) => [
              m, v.mpps.toFixed(3), v.gbps.toFixed(3), v.sinkPackets, raw ? `${((v.mpps / raw) * 100).toFixed(0)}%` : '-',
              ...(v.latencyNs ? [v.timedPackets ?? 0, ...[v.latencyNs.p50, v.latencyNs.p90, v.latencyNs.p99, v.latencyNs.p999].map(formatNs)] : []),
            ]),
          ) + '\n',
      );
    });
}
