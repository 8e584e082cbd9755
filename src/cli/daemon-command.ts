/**
 * `pspat daemon`: the host service in the foreground (systemd or a shell). Loads an
 * optional configuration, listens on the control socket, applies `pspat tc` commands, and
 * on SIGINT/SIGTERM stops taking commands, sends what is queued (bounded) and prints the
 * final accounting. SIGUSR1 writes RUN.json (counters and histograms, for `pspat report`)
 * to the --save file; `--metrics HOST:PORT` serves Prometheus metrics.
 */
import type { Server } from 'node:http';
import { join } from 'node:path';
import type { Command } from 'commander';
import { serveMetrics } from '../daemon/metrics.js';
import { writeRunFile } from '../report/run-file.js';
import { loadConfigFile } from '../daemon/config.js';
import { ControlServer, defaultRunDir } from '../daemon/control-socket.js';
import { Daemon, DAEMON_DEFAULTS, type DaemonOptions, type TestTraffic } from '../daemon/daemon.js';
import { InvalidOptionError } from '../errors.js';
import { BACKENDS } from '../transmit/ports.js';
import { parseRate } from '../units.js';
import { intArg } from './parse.js';

interface DaemonFlags {
  config?: string;
  backend?: DaemonOptions['backend'];
  rate: Record<string, number>;
  testTraffic: Record<string, TestTraffic>;
  runDir?: string;
  maxClasses?: number;
  poolFrames?: number;
  arbiters?: number;
  xdpMode?: DaemonOptions['xdpMode'];
  txWorkers?: number;
  metrics?: string;
  save?: string;
  attach: boolean;
  captureThreads?: number;
}

function trafficFlag(v: string, acc: Record<string, TestTraffic>): Record<string, TestTraffic> {
  const m = /^([^=]+)=(\d+(?:,\d+)*)(?:\/(\d+))?$/.exec(v);
  if (!m) throw new InvalidOptionError('test-traffic', `expected DEV=PORT[,PORT...][/SIZE] (e.g. veth0=5001,5002/1000), got '${v}'`);
  const ports = m[2].split(',').map(Number);
  if (ports.some((p) => p < 1 || p > 65535)) throw new InvalidOptionError('test-traffic', `ports must be in [1, 65535], got '${m[2]}'`);
  return { ...acc, [m[1]]: { ports, ...(m[3] ? { size: Number(m[3]) } : {}) } };
}

function rateFlag(v: string, acc: Record<string, number>): Record<string, number> {
  const m = /^([^=]+)=(.+)$/.exec(v);
  if (!m) throw new InvalidOptionError('rate', `expected DEV=RATE (e.g. eth0=1gbit), got '${v}'`);
  return { ...acc, [m[1]]: parseRate(m[2], `rate ${m[1]}`) };
}

export function registerDaemon(program: Command): void {
  program
    .command('daemon')
    .description('run the host service: managed devices, their qdiscs, the control socket for pspat tc')
    .option('--config <file>', 'YAML/JSON configuration to load (see pspat config dump)')
    .option('--backend <name>', `transmit backend for managed devices: ${BACKENDS.join(' | ')} (default: ${DAEMON_DEFAULTS.backend})`)
    .option('--rate <dev=rate>', 'link rate of a device (repeatable); default: its speed, else 1gbit', rateFlag, {})
    .option('--test-traffic <dev=ports/size>', 'synthetic UDP load on a device once it is managed, classified by its filters (repeatable)', trafficFlag, {})
    .option('--run-dir <dir>', 'where the control socket lives (default: $PSPAT_RUN_DIR or /run/pspat)')
    .option('--max-classes <n>', `class slots per device (default: ${DAEMON_DEFAULTS.maxClasses})`, intArg('max-classes'))
    .option('--pool-frames <n>', `frames in each arbiter's pool (default: ${DAEMON_DEFAULTS.poolFrames})`, intArg('pool-frames'))
    .option('--arbiters <n>', `arbiter threads, devices spread over them (default: ${DAEMON_DEFAULTS.arbiters})`, intArg('arbiters'))
    .option('--xdp-mode <mode>', 'afxdp: copy | zerocopy | auto')
    .option('--tx-workers <n>', 'transmit workers per device (0: inline)', intArg('tx-workers'))
    .option('--metrics <host:port>', 'serve Prometheus metrics at http://HOST:PORT/metrics (nothing listens unless given)')
    .option('--save <file>', 'where SIGUSR1 writes RUN.json (default: RUN_DIR/run.json)')
    .option('--no-attach', "with afxdp/afpacket: do not take over managed devices' egress (only pspat clients then feed them)")
    .option('--capture-threads <n>', 'capture client threads per attached device (default: 1)', intArg('capture-threads'))
    .action(async (f: DaemonFlags) => {
      const config = f.config ? loadConfigFile(f.config) : { daemon: {}, devices: {} };
      const options: DaemonOptions = { ...config.daemon };
      if (f.backend) options.backend = f.backend;
      if (f.maxClasses !== undefined) options.maxClasses = f.maxClasses;
      if (f.poolFrames !== undefined) options.poolFrames = f.poolFrames;
      if (f.arbiters !== undefined) options.arbiters = f.arbiters;
      if (f.xdpMode) options.xdpMode = f.xdpMode;
      if (f.txWorkers !== undefined) options.txWorkers = f.txWorkers;
      options.rates = { ...config.daemon.rates, ...f.rate };
      options.testTraffic = { ...config.daemon.testTraffic, ...f.testTraffic };
      const runDir = f.runDir ?? defaultRunDir();
      const savePath = f.save ?? join(runDir, 'run.json');
      options.runDir = runDir;
      options.attach = f.attach;
      if (f.captureThreads !== undefined) options.captureThreads = f.captureThreads;
      const daemon = await Daemon.start(options);
      if (daemon.recovered.length > 0) process.stderr.write(`pspat daemon: gave back ${daemon.recovered.join(', ')}, left attached by a daemon that is gone\n`);
      let server: ControlServer | undefined;
      let metrics: { server: Server; url: string } | undefined;
      try {
        await daemon.load(config.devices, f.config ?? 'config');
        server = await ControlServer.listen(runDir, async (req) => {
          if (req.op === 'tc' && Array.isArray(req.argv) && req.argv.every((a) => typeof a === 'string')) return { reply: await daemon.tc(req.argv as string[]) };
          if (req.op === 'config') return { config: daemon.dump() };
          if (req.op === 'stats') return { run: await daemon.run() };
          if (req.op === 'ping') return {};
          throw new InvalidOptionError('op', `bad request: unknown op ${JSON.stringify(req.op)} (known: tc, config, stats, ping)`);
        });
        if (f.metrics) metrics = await serveMetrics(f.metrics, daemon);
      } catch (e) {
        await server?.close();
        await daemon.close();
        throw e;
      }
      process.on('SIGUSR1', () => {
        daemon.run().then(
          (run) => {
            writeRunFile(savePath, [run]);
            process.stderr.write(`pspat daemon: SIGUSR1: wrote ${savePath}\n`);
          },
          (e: Error) => process.stderr.write(`pspat daemon: SIGUSR1: ${e.message}\n`),
        );
      });
      // Handlers first: a supervisor may signal as soon as it reads the line below.
      const signal = new Promise<string>((resolve) => {
        process.once('SIGINT', () => resolve('SIGINT'));
        process.once('SIGTERM', () => resolve('SIGTERM'));
      });
      const control = server!;
      const peers = control.checksPeers ? 'root only (peer credentials)' : 'socket permissions only (native addon missing: peer credentials unchecked)';
      const arbiters = options.arbiters ?? DAEMON_DEFAULTS.arbiters;
      const served = metrics ? `; metrics at ${metrics.url}` : '';
      process.stderr.write(`pspat daemon: listening on ${control.path} (${arbiters} arbiter${arbiters === 1 ? '' : 's'}, backend ${options.backend ?? DAEMON_DEFAULTS.backend}; ${peers})${served}\n`);
      const got = await signal;
      metrics?.server.close();
      await control.close();
      const finals = await daemon.close();
      const t = finals.reduce(
        (a, s) => ({ offered: a.offered + s.totals.offered, sent: a.sent + s.totals.sent, dropped: a.dropped + s.totals.dropped, queued: a.queued + s.totals.queued }),
        { offered: 0, sent: 0, dropped: 0, queued: 0 },
      );
      process.stderr.write(`pspat daemon: ${got}: stopped; ${finals.length} links: offered ${t.offered} = sent ${t.sent} + dropped ${t.dropped} + still queued ${t.queued}\n`);
    });
}
