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
import { checkSchema } from './config-schema.js';
import { ControlServer, defaultRunDir } from '../daemon/control-socket.js';
import { Daemon } from '../daemon/daemon.js';
import { DAEMON_DEFAULTS, resolveDaemonOptions, type DaemonOptions, type TestTraffic } from '../daemon/options.js';
import { InvalidOptionError, PspatError } from '../errors.js';
import { dropPrivileges, lookupUser, neededCapabilities, requireCapabilities } from '../daemon/privileges.js';
import { isNativeBackend } from '../transmit/ports.js';
import { tryNativeAddon } from '../transmit/native.js';
import { parseRate } from '../units.js';
import { addFlags, DAEMON_FLAGS, pickFlags } from './flags.js';
import { allowedCpus, describePlan, PLACEMENT_KEYS, placeProcess, planPlacement } from '../placement.js';
import { defaultArbiterCpus, releaseCpus } from '../cpu-claims.js';

/** The command's own flags, beside the options' (DAEMON_FLAGS). */
interface CommandFlags {
  config?: string;
  rate?: Record<string, number>;
  testTraffic?: Record<string, TestTraffic>;
  metrics?: string;
  save?: string;
  user?: string;
}

function trafficFlag(v: string, acc: Record<string, TestTraffic> = {}): Record<string, TestTraffic> {
  const m = /^([^=]+)=(\d+(?:,\d+)*)(?:\/(\d+))?$/.exec(v);
  if (!m) throw new InvalidOptionError('test-traffic', `expected DEV=PORT[,PORT...][/SIZE] (e.g. veth0=5001,5002/1000), got '${v}'`);
  const ports = m[2].split(',').map(Number);
  if (ports.some((p) => p < 1 || p > 65535)) throw new InvalidOptionError('test-traffic', `ports must be in [1, 65535], got '${m[2]}'`);
  return { ...acc, [m[1]]: { ports, ...(m[3] ? { size: Number(m[3]) } : {}) } };
}

function rateFlag(v: string, acc: Record<string, number> = {}): Record<string, number> {
  const m = /^([^=]+)=(.+)$/.exec(v);
  if (!m) throw new InvalidOptionError('rate', `expected DEV=RATE (e.g. eth0=1gbit), got '${v}'`);
  return { ...acc, [m[1]]: parseRate(m[2], `rate ${m[1]}`) };
}

export function registerDaemon(program: Command): void {
  const cmd = program
    .command('daemon')
    .description('run the host service: managed devices, their qdiscs, the control socket for pspat tc')
    .option('--config <file>', 'YAML/JSON configuration to load (see pspat config dump); flags given beside it win')
    .option('--rate <dev=rate>', 'link rate of a device (repeatable); default: its speed, else 1gbit', rateFlag)
    .option('--test-traffic <dev=ports/size>', 'synthetic UDP load on a device once it is managed, classified by its filters (repeatable)', trafficFlag)
    .option('--metrics <host:port>', 'serve Prometheus metrics at http://HOST:PORT/metrics (nothing listens unless given)')
    .option('--save <file>', 'where SIGUSR1 writes RUN.json (default: RUN_DIR/run.json)')
    .option('--user <name>', 'once the control socket is open, run as this user, keeping only the capabilities managing devices needs');
  const { runDir: _socketDefault, ...shownDefaults } = DAEMON_DEFAULTS;
  addFlags(cmd, DAEMON_FLAGS, shownDefaults);
  cmd.action(async (f: CommandFlags, command: Command) => {
    const config = f.config ? loadConfigFile(f.config, checkSchema) : { daemon: {}, devices: {} };
    const options: DaemonOptions = { ...config.daemon, ...pickFlags(DAEMON_FLAGS, command) };
    options.rates = { ...config.daemon.rates, ...f.rate };
    options.testTraffic = { ...config.daemon.testTraffic, ...f.testTraffic };
    const runDir = options.runDir ?? defaultRunDir();
    const savePath = f.save ?? join(runDir, 'run.json');
    options.runDir = runDir;
    // Every option checked before anything is touched (Daemon.start resolves them again).
    const { attach, capture } = resolveDaemonOptions(options);
    // Before anything is touched: a daemon that could not take its devices over says so now.
    const backend = options.backend ?? DAEMON_DEFAULTS.backend;
    const realtime = [options.arbiterPriority, options.clientPriority, options.txPriority].some((p) => (p ?? 0) > 0);
    const raisedNice = (options.arbiterNice ?? 0) < 0;
    const xdpSockets = backend === 'afxdp' || (attach && capture !== 'packet');
    const needed = neededCapabilities({ native: isNativeBackend(backend), attach, xdpSockets, realtime: realtime || raisedNice });
    const takeover = attach ? " (taking over devices' egress)" : '';
    const rt = realtime ? ' with real-time priority' : raisedNice ? ' with a negative --arbiter-nice' : '';
    requireCapabilities(needed, `pspat daemon --backend ${backend}${takeover}${rt}`, attach ? 'run as root, or add --no-attach' : 'run as root');
    const user = f.user === undefined ? undefined : { name: f.user, ...lookupUser(f.user) };
    // Many connections (control clients, scrapers) must not use up the descriptors the devices need.
    tryNativeAddon()?.raiseFileLimit();
    let daemon: Daemon | undefined;
    const server = await ControlServer.listen(runDir, async (req) => {
      if (daemon === undefined) throw new InvalidOptionError('op', 'the daemon is still starting');
      if (req.op === 'tc' && Array.isArray(req.argv) && req.argv.every((a) => typeof a === 'string')) return { reply: await daemon.tc(req.argv as string[]) };
      if (req.op === 'config') return { config: daemon.dump() };
      if (req.op === 'stats') return { run: await daemon.run() };
      if (req.op === 'ping') return {};
      throw new InvalidOptionError('op', `bad request: unknown op ${JSON.stringify(req.op)} (known: tc, config, stats, ping)`);
    });
    let metrics: { server: Server; url: string } | undefined;
    try {
      // With no placement asked for, a host of DEDICATED_MIN_CPUS or more gives each arbiter
      // a CPU of its own, claimed host-wide so a second pspat does not poll the same one
      // (claimed before --user drops root: /run/pspat-cpus is root's).
      const arbiters = options.arbiters ?? DAEMON_DEFAULTS.arbiters;
      const placed = PLACEMENT_KEYS.some((k) => options[k] !== undefined);
      const dedicated = placed || tryNativeAddon() === null ? [] : defaultArbiterCpus(allowedCpus(), arbiters);
      const defaultPlacement = dedicated.length > 0 ? { arbiterCpus: dedicated } : {};
      process.once('exit', releaseCpus);
      // Before the arbiter threads start: they open the transmit sockets with what this thread keeps.
      if (user) {
        dropPrivileges(user, needed);
        process.stderr.write(`pspat daemon: running as ${user.name} (uid ${user.uid}, gid ${user.gid}) with ${needed.join(', ') || 'no capabilities'}\n`);
      }
      // The main thread and the runtime's helpers go with the clients, off the arbiters' CPUs.
      placeProcess(planPlacement({ ...defaultPlacement, ...options }, arbiters));
      daemon = await Daemon.start(options, defaultPlacement);
      if (daemon.recovered.length > 0) process.stderr.write(`pspat daemon: gave back ${daemon.recovered.join(', ')}, left attached by a daemon that is gone\n`);
      await daemon.load(config.devices, f.config ?? 'config');
      await daemon.follow();
      if (f.metrics) metrics = await serveMetrics(f.metrics, daemon);
    } catch (e) {
      await server.close();
      await daemon?.close();
      throw e;
    }
    const running = daemon;
    process.on('SIGUSR1', () => {
      running
        .run()
        .then((run) => {
          writeRunFile(savePath, [run]);
          process.stderr.write(`pspat daemon: SIGUSR1: wrote ${savePath}\n`);
        })
        // A save that fails (missing directory, full disk) is said, and the daemon goes on.
        .catch((e: Error) => process.stderr.write(`pspat daemon: SIGUSR1: could not write ${savePath}: ${e.message}\n`));
    });
    // Closing the terminal or a reload must not end the daemon without its cleanup (a
    // taken-over device would stay diverted): both are said and otherwise ignored.
    for (const sig of ['SIGHUP', 'SIGUSR2'] as const) {
      process.on(sig, () => process.stderr.write(`pspat daemon: ${sig}: ignored (the configuration changes through pspat tc; stop with SIGTERM)\n`));
    }
    // Handlers first: a supervisor may signal as soon as it reads the line below.
    const signal = new Promise<string>((resolve) => {
      process.once('SIGINT', () => resolve('SIGINT'));
      process.once('SIGTERM', () => resolve('SIGTERM'));
    });
    const peers = server.checksPeers ? 'root only (peer credentials)' : 'socket permissions only (native addon missing: peer credentials unchecked)';
    const arbiters = options.arbiters ?? DAEMON_DEFAULTS.arbiters;
    const served = metrics ? `; metrics at ${metrics.url}` : '';
    process.stderr.write(
      `pspat daemon: listening on ${server.path} (${arbiters} arbiter${arbiters === 1 ? '' : 's'}, backend ${options.backend ?? DAEMON_DEFAULTS.backend}; ${peers})${served}\n`,
    );
    const { plan, arbiterThreads } = running.placement();
    process.stderr.write(`pspat daemon: threads: ${describePlan(plan)}; arbiter thread ids ${arbiterThreads.join(', ')}\n`);
    const got = await Promise.race([signal, running.fatal.then((reason) => ({ reason }))]);
    if (typeof got !== 'string') process.stderr.write(`pspat daemon: ${got.reason}: stopping\n`);
    metrics?.server.close();
    await server.close();
    const finals = await running.close();
    const t = finals.reduce(
      (a, s) => ({
        offered: a.offered + s.totals.offered,
        sent: a.sent + s.totals.sent,
        dropped: a.dropped + s.totals.dropped,
        queued: a.queued + s.totals.queued,
      }),
      { offered: 0, sent: 0, dropped: 0, queued: 0 },
    );
    const why = typeof got === 'string' ? got : got.reason;
    process.stderr.write(
      `pspat daemon: ${why}: stopped; ${finals.length} link${finals.length === 1 ? '' : 's'}: offered ${t.offered} = sent ${t.sent} + dropped ${t.dropped} + still queued ${t.queued}\n`,
    );
    // A device that vanished ends the daemon as a failure: `pspat: <why>`, exit 1.
    if (typeof got !== 'string') throw new PspatError('ERR_PSPAT_DEVICE_GONE', `daemon stopped: ${got.reason}`);
  });
}
