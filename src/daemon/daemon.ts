/**
 * The host daemon's core: one arbiter serving every managed device as a link (PSPAT: one
 * arbiter, many links, each with its own link clock and transmit port), the tc trees of
 * those devices, and the application of `pspat tc` commands to both. When one core is not
 * enough, `arbiters: N` starts N arbiter threads and gives each new device to the one
 * serving the fewest (each arbiter has its own frame pool).
 *
 * A command is applied in three steps, so that a refused one changes nothing:
 *   1. parse (grammar.ts) and plan it against the trees (plan.ts): tc's and the kernel's
 *      refusals happen here, exit 1/2/255;
 *   2. carry out the plan's link operations on the arbiter, in order — each is first
 *      tried on the link's shadow scheduler (host.ts), so the scheduler's own refusals
 *      (a weight out of range, a child under a backlogged leaf) come back as exit 2;
 *   3. commit the new tree.
 * Commands are applied one at a time (a queue), as tc commands reach the kernel one at a
 * time under RTNL. If step 2 fails part-way (the arbiter refused the second of three
 * operations), the operations already done are undone by re-applying the old tree.
 *
 * The daemon's other jobs, each in its file here:
 *   managed-device.ts   what it keeps per device; sampling the rate estimators
 *   port-watch.ts       its devices' transmit ports: down, back, gone
 *   traffic-sources.ts  a device's capture clients (egress takeover) and test traffic
 *   tc-show.ts          `pspat tc … show`, with -s figures from the links
 *   observe.ts, metrics.ts, metric-histograms.ts   RUN.json and Prometheus readings
 *   options.ts, config.ts   its options and configuration file
 *   control-socket.ts, run-dir.ts, privileges.ts, device-lock.ts   how it is reached and what it may do
 *   and src/cli/daemon-command.ts, the command line that starts it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { recoverAttachments } from '../attach/attach.js';
import { Follower } from '../follow/follower.js';
import { ArbiterHost, type LinkHandle } from '../arbiter/host.js';
import { InvalidOptionError, PspatError } from '../errors.js';
import type { LinkStats } from '../stats/link-stats.js';
import { treeCommands } from '../tc/dump.js';
import { CONFIG_VERSION } from './config.js';
import { RateEstimator, SAMPLE_MS } from './rate-estimator.js';
import { classLabels, configuredRates, daemonRun, readDevice, type DeviceReading } from './observe.js';
import type { LoopStats } from '../stats/loop-stats.js';
import type { Run } from '../report/run-file.js';
import type { TransmitOptions } from '../options.js';
import { DAEMON_CONFIG_KEYS, deviceSelected, resolveDaemonOptions, type DaemonOptions, type ResolvedDaemonOptions } from './options.js';
import type { LinkOp } from '../tc/config-diff.js';
import { TcError, TC_EXIT_BAD_ARG, TC_EXIT_REJECTED } from '../tc/errors.js';
import { FFFF, parseTc } from '../tc/grammar.js';
import type { ParsedTc, QdiscSpec, TcReply } from '../tc/model.js';
import { Classifier } from '../tc/classifier.js';
import { classifierConfig, type ClassifierConfig } from '../tc/packet-classifier.js';
import { randomFlowKey } from '../tc/flow-hash.js';
import { planCommand, type Plan } from '../tc/plan.js';
import { isNativeBackend } from '../transmit/ports.js';
import { DEFAULT_DEVICE_FACTS, deviceFacts, isInterfaceName, isLoopback } from '../net/device.js';
import { lockDevice } from './device-lock.js';
import { sampleRates, type ClientSource, type ManagedDevice } from './managed-device.js';
import { PORT_WATCH_MS, watchPorts } from './port-watch.js';
import { startCapture, startTraffic, stopSources, stopTraffic, type SourceContext } from './traffic-sources.js';
import { showDevices } from './tc-show.js';
import { arbiterPlacement, PLACEMENT_KEYS, planPlacement, type PlacementOptions, type PlacementPlan } from '../placement.js';
import type { LinkConfig, TcTree } from '../tc/tree.js';

/** Rate the kernel reports for `dev` (/sys/class/net/DEV/speed, Mbit/s), or undefined. */
function deviceSpeed(dev: string): number | undefined {
  try {
    const mbit = Number(readFileSync(`/sys/class/net/${dev}/speed`, 'utf8').trim());
    return mbit > 0 ? mbit * 1e6 : undefined;
  } catch {
    return undefined;
  }
}

/** Why `dev` cannot be a pspat link on a real backend, or null when it can. */
function unmanageable(dev: string): string | null {
  // Loopback has no wire: taking it over would cut off all local traffic while counting it as sent.
  if (isLoopback(dev)) return 'it is a loopback device: it has no link to schedule, and taking it over would cut off local traffic';
  // A capture end redirected into itself would loop every packet.
  if (/^psc\d+p?$/.test(dev)) return "it is one of pspat's own capture devices";
  return null;
}

const DEFAULT_LINK_RATE = 1e9;

export class Daemon {
  /**
   * `defaultPlacement`: where the threads go when `options` place none (`pspat daemon`'s
   * CPU of its own for the arbiter, claimed host-wide: src/cpu-claims.ts). It shapes the
   * plan, not the options a dump writes.
   */
  static async start(options: DaemonOptions = {}, defaultPlacement: PlacementOptions = {}): Promise<Daemon> {
    const o = resolveDaemonOptions(options);
    const plan = planPlacement({ ...defaultPlacement, ...options }, o.arbiters);
    // A daemon killed while devices were attached left their egress diverted: give them back first.
    const recovered = recoverAttachments(o.runDir);
    const arbiters: ArbiterHost[] = [];
    try {
      for (let i = 0; i < o.arbiters; i++) arbiters.push(await ArbiterHost.start({ poolFrames: o.poolFrames, ...arbiterPlacement(plan, i) }));
    } catch (e) {
      for (const a of arbiters) await a.close({ drain: false });
      throw e;
    }
    const placementGiven = Object.fromEntries(PLACEMENT_KEYS.filter((k) => options[k] !== undefined).map((k) => [k, options[k]])) as PlacementOptions;
    return new Daemon(arbiters, o, placementGiven, recovered, plan);
  }

  private readonly devices = new Map<string, ManagedDevice>();
  /** The flow hash's key: drawn at start, so nobody outside can aim flows at one sfq/fq_codel queue. */
  private readonly flowKey = randomFlowKey();
  /** Serialises commands: each waits for the one before it. */
  private queue: Promise<unknown> = Promise.resolve();
  /** Follows the kernel's tc configuration of the `follow` devices (started by `follow()`). */
  private follower: Follower | undefined;

  /** Samples every managed link's counters for the rate estimators (`tc -s` rate lines). */
  private readonly sampler: NodeJS.Timeout;
  /** Watches every managed link's port for faults (device down, back, gone). */
  private readonly portWatch: NodeJS.Timeout;
  private cannotGoOn: (reason: string) => void = () => {};
  /**
   * Resolves with a one-line reason when the daemon cannot go on — a managed device was
   * deleted, or an arbiter thread died — so `pspat daemon` stops (giving attached devices
   * back) and exits 1, for its supervisor to restart it.
   */
  readonly fatal = new Promise<string>((resolve) => (this.cannotGoOn = resolve));

  private constructor(
    private readonly arbiters: ArbiterHost[],
    private readonly options: ResolvedDaemonOptions,
    /** The placement it was asked for (the rest follows the plan), for `dump`. */
    private readonly placementGiven: PlacementOptions,
    /** Devices a dead daemon had attached, given back at this start. */
    readonly recovered: string[],
    /** Where the daemon's threads run. */
    readonly plan: PlacementPlan,
  ) {
    this.sampler = setInterval(() => void sampleRates(this.devices.values()), SAMPLE_MS);
    this.sampler.unref();
    this.portWatch = setInterval(
      () =>
        watchPorts(this.devices, {
          letGo: (dev) => {
            if (!this.follower?.follows(dev)) return false;
            this.follower.recheck(dev);
            return true;
          },
          gone: (reason) => this.cannotGoOn(reason),
        }),
      PORT_WATCH_MS,
    );
    this.portWatch.unref();
    arbiters.forEach((a, i) => void a.died.then((e) => this.cannotGoOn(`arbiter ${i}: ${e.message}`)));
  }

  /** The plan, and the kernel thread id of each arbiter (for /proc/PID/task/TID). */
  placement(): { plan: PlacementPlan; arbiterThreads: number[] } {
    return { plan: this.plan, arbiterThreads: this.arbiters.map((a) => a.loop.read().threadId) };
  }

  /** `--rate DEV=R`, else the device's speed, else the root qdisc's own ceiling (tbf's rate), else 1 Gbit/s. */
  linkRate(dev: string, root: QdiscSpec): number {
    const ceiling = root.kind === 'tbf' ? (root.peakrate ?? root.rate) : undefined;
    return this.options.rates[dev] ?? deviceSpeed(dev) ?? ceiling ?? DEFAULT_LINK_RATE;
  }

  /** The trees of the managed devices (for config dump). */
  trees(): TcTree[] {
    return [...this.devices.values()].map((d) => d.tree);
  }

  /** Runs one `pspat tc` command line; never throws for a user's mistake. */
  tc(argv: string[]): Promise<TcReply> {
    return this.enqueue(() => this.apply(argv, false));
  }

  private enqueue<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Starts following the kernel's tc configuration of the `follow` devices (src/follow/):
   * what it holds now is enforced before this returns.
   */
  async follow(): Promise<void> {
    if (this.options.follow.length === 0) return;
    this.follower = new Follower(this.options.follow, {
      apply: async (argv) => {
        const r = await this.enqueue(() => this.apply(argv, true));
        if ('passthrough' in r) return r.reason;
        return r.exitCode === 0 ? null : r.stderr.trim();
      },
      manages: (dev) => this.devices.has(dev),
      selects: (dev) => deviceSelected(this.options.devices, dev),
      say: (line) => process.stderr.write(`pspat daemon: ${line}\n`),
    });
    await this.follower.start();
  }

  /** `fromKernel`: a followed device's own configuration (follower.ts), which only the follower applies. */
  private async apply(argv: string[], fromKernel: boolean): Promise<TcReply> {
    let parsed: ParsedTc;
    try {
      parsed = parseTc(argv);
      // `parent ffff:` is the ingress qdisc, unless it is the handle of a managed device's egress root.
      const ffffOf = 'passthrough' in parsed.command ? parsed.command.ffffOf : undefined;
      if (ffffOf !== undefined && this.devices.get(ffffOf)?.tree.root.handle === FFFF) parsed = parseTc(argv, true);
      const cmd = parsed.command;
      if ('passthrough' in cmd) return cmd;
      if (cmd.verb === 'show') return await showDevices(this.devices, cmd, parsed);
      // The kernel holds a followed device's configuration: the system's tc changes it there, and pspat follows.
      if (!fromKernel && this.follower?.follows(cmd.dev)) return { passthrough: true, reason: `${cmd.dev} is followed: its configuration is the kernel's` };
      if (!deviceSelected(this.options.devices, cmd.dev))
        return { passthrough: true, reason: `${cmd.dev} is not among the devices pspat manages (--devices ${this.options.devices.join(',')})` };
      const named = isInterfaceName(cmd.dev);
      if (!this.devices.has(cmd.dev) && (!named || (isNativeBackend(this.options.backend) && !existsSync(`/sys/class/net/${cmd.dev}`)))) {
        // A device pspat would transmit on must exist; tc's own words and status.
        return { exitCode: TC_EXIT_BAD_ARG, stdout: '', stderr: `Cannot find device "${cmd.dev}"\n` };
      }
      const refusal = isNativeBackend(this.options.backend) && !this.devices.has(cmd.dev) ? unmanageable(cmd.dev) : null;
      if (refusal !== null) return { exitCode: TC_EXIT_BAD_ARG, stdout: '', stderr: `Error: pspat cannot manage device "${cmd.dev}": ${refusal}\n` };
      const trees = new Map([...this.devices].map(([dev, d]) => [dev, d.tree]));
      const plan = planCommand(trees, cmd, {
        linkRate: (dev, root) => this.linkRate(dev, root),
        // A device the null backend only names has no facts to read: the kernel's defaults for a one-queue Ethernet device.
        device: (dev) => (existsSync(`/sys/class/net/${dev}`) ? deviceFacts(dev) : DEFAULT_DEVICE_FACTS),
        maxClasses: this.options.maxClasses,
      });
      if ('passthrough' in plan) return plan;
      await this.realise(plan);
      return { exitCode: 0, stdout: '', stderr: plan.warnings.map((w) => `${w}\n`).join('') };
    } catch (e) {
      if (e instanceof TcError) return { exitCode: e.exitCode, stdout: '', stderr: `${e.message}\n` };
      // The scheduler's refusals (via the shadow or the arbiter) are the kernel's "invalid argument".
      if (e instanceof PspatError || e instanceof RangeError) return { exitCode: TC_EXIT_REJECTED, stdout: '', stderr: `Error: ${e.message}\n` };
      throw e;
    }
  }

  /** Carries out a plan's link operations and commits its tree; on a failure part-way, restores the old state. */
  private async realise(plan: Plan): Promise<void> {
    const { dev, tree, config } = plan;
    const before = this.devices.get(dev);
    const done: LinkOp[] = [];
    try {
      for (const op of plan.ops) {
        await this.execute(dev, op, tree, config);
        done.push(op);
      }
    } catch (e) {
      if (before) {
        for (const op of done.reverse()) await this.undo(op, before);
        this.devices.set(dev, before);
      }
      throw e;
    }
  }

  /** Reverses one class operation the arbiter accepted, from the state before the command. */
  private async undo(op: LinkOp, before: ManagedDevice): Promise<void> {
    const link = before.link;
    const old = before.config.classes;
    if (op.op === 'addClass') await link.deleteClass(op.slot);
    else if (op.op === 'deleteClass') await link.addClass({ ...old.get(op.slot)!, slot: op.slot });
    else if (op.op === 'changeClass') await link.changeClass(op.slot, old.get(op.slot)!);
  }

  private async execute(dev: string, op: LinkOp, tree: TcTree | null, config: LinkConfig | null): Promise<void> {
    const managed = this.devices.get(dev);
    switch (op.op) {
      case 'createLink': {
        const c = op.config;
        const classes = [...c.classes].map(([slot, params]) => ({ ...params, slot }));
        if (managed) {
          await managed.link.setScheduler(c.scheduler, c.rootParams, classes);
          this.devices.set(dev, { ...managed, tree: tree!, config: c });
          return;
        }
        // Before anything is touched: a device another daemon manages is refused whole.
        const lock = isNativeBackend(this.options.backend) ? await lockDevice(dev) : undefined;
        const arbiter = this.leastLoaded();
        let link: LinkHandle;
        let traffic: ClientSource | undefined;
        try {
          link = await arbiter.addLink({
            ...this.transmitFor(dev),
            rate: tree!.linkRate,
            scheduler: c.scheduler,
            schedulerParams: c.rootParams,
            maxClasses: this.options.maxClasses,
            stageSample: this.options.stageSample,
            classes,
          });
          traffic = await startTraffic(this.sources, dev, link, tree!);
        } catch (e) {
          lock?.release();
          throw e;
        }
        const device: ManagedDevice = {
          tree: tree!,
          arbiter,
          link,
          config: c,
          rates: new RateEstimator(),
          portFault: 0,
          mtuSuspect: 0,
          lock,
          ...(traffic && { traffic }),
        };
        try {
          const capture = await startCapture(this.sources, dev, link, tree!);
          if (capture) device.capture = capture;
        } catch (e) {
          // Not taken over: the device stays unmanaged, as before the command. The capture
          // clients that did start are attached to the link: let them go first.
          await stopTraffic(this.options.runDir, device);
          await link.detachClients();
          await link.remove();
          lock?.release();
          throw e;
        }
        this.devices.set(dev, device);
        return;
      }
      case 'deleteLink':
        // A replace with another kind is deleteLink + createLink: keep the link, swap its scheduler there.
        if (tree !== null) return;
        await stopTraffic(this.options.runDir, managed!);
        await managed!.link.remove();
        managed!.lock?.release();
        this.devices.delete(dev);
        return;
      case 'addClass':
        await managed!.link.addClass({ ...op.params, slot: op.slot });
        break;
      case 'changeClass':
        await managed!.link.changeClass(op.slot, op.params);
        break;
      case 'deleteClass':
        await managed!.link.deleteClass(op.slot);
        break;
      case 'setClassifier': {
        const classify = this.classifierConfig(tree!, op.config);
        // Policers first, so every index a client may stamp from now on exists.
        await managed!.link.setPolicers(new Classifier(classify.filters).policers);
        for (const port of [...(managed!.traffic?.updates ?? []), ...(managed!.capture?.updates ?? [])]) port.postMessage(classify);
        break;
      }
    }
    this.devices.set(dev, { ...managed!, tree: tree!, config: config! });
  }

  /** What the traffic sources (src/daemon/traffic-sources.ts) need of the daemon. */
  private get sources(): SourceContext {
    return {
      options: this.options,
      classifier: (tree) => this.classifierConfig(tree),
      // A capture client that fails later leaves the device unserved: the daemon stops, giving it back.
      lost: (dev, fleet, e) => {
        if (this.devices.get(dev)?.capture?.fleet === fleet) this.cannotGoOn(`${dev}: ${e.message}`);
      },
    };
  }

  /** What client threads classify a device's packets by, flow hashes under this daemon's key. */
  private classifierConfig(tree: TcTree, config?: LinkConfig): ClassifierConfig {
    return { ...classifierConfig(tree, config), flowKey: this.flowKey };
  }

  /** The arbiter serving the fewest managed devices. */
  private leastLoaded(): ArbiterHost {
    const load = this.arbiters.map((a) => [...this.devices.values()].filter((d) => d.arbiter === a).length);
    return this.arbiters[load.indexOf(Math.min(...load))];
  }

  private transmitFor(dev: string): TransmitOptions {
    const o = this.options;
    if (isNativeBackend(o.backend)) return { backend: o.backend, dev, queue: o.queue, xdpMode: o.xdpMode, txWorkers: o.txWorkers };
    // A prefix given with --out, else the run directory (never a hidden file where the daemon was started).
    if (o.backend === 'pcap') return { backend: 'pcap', out: o.out ? `${o.out}.${dev}.pcap` : join(o.runDir, `${dev}.pcap`) };
    return { backend: 'null' };
  }

  /** Replays a configuration's tc commands; the first refused one stops it, naming its place. */
  async load(devices: Record<string, string[][]>, where: string): Promise<void> {
    for (const [dev, commands] of Object.entries(devices)) {
      for (const [i, argv] of commands.entries()) {
        const r = await this.tc(argv);
        const problem = 'passthrough' in r ? `not a pspat command (${r.reason})` : r.exitCode !== 0 ? r.stderr.trim() : '';
        if (problem) throw new InvalidOptionError(`${where}: devices.${dev}[${i}]`, problem);
      }
    }
  }

  /** A consistent reading of every managed device (a snapshot each). */
  async readings(): Promise<DeviceReading[]> {
    const out: DeviceReading[] = [];
    for (const [dev, d] of [...this.devices]) {
      try {
        out.push({ ...(await readDevice(dev, d.link, d.tree, d.config)), bypassed: d.capture?.divert.bypassed ?? null });
      } catch (e) {
        if (this.devices.get(dev) === d) throw e; // not merely removed meanwhile
      }
    }
    return out;
  }

  /**
   * Every device read live from shared memory (LinkHandle.liveStats): what metrics
   * scrapes take, so scrapers cost the arbiter only the scheduler's per-class counters.
   */
  async liveReadings(): Promise<DeviceReading[]> {
    const out: DeviceReading[] = [];
    for (const [dev, d] of [...this.devices]) {
      try {
        out.push({
          dev,
          stats: await d.link.liveStats(),
          labels: classLabels(d.tree, d.config),
          bypassed: d.capture?.divert.bypassed ?? null,
          kind: d.tree.root.qdisc.kind,
          configured: configuredRates(d.config),
        });
      } catch (e) {
        if (this.devices.get(dev) === d) throw e; // not merely removed meanwhile
      }
    }
    return out;
  }

  /** Each arbiter's loop figures, read lock-free. */
  loops(): LoopStats[] {
    return this.arbiters.map((a) => a.loop);
  }

  /** The daemon's state as a RUN.json run: every class's counters and histograms. */
  async run(): Promise<Run> {
    return daemonRun(await this.readings(), this.loops(), { options: this.options, devices: this.dump().devices }, this.plan);
  }

  /** The configuration file that rebuilds the current state (config.ts's format). */
  /** Everything it runs with, as a configuration file: `pspat daemon --config` of it comes back the same. */
  dump(): { version: number; daemon: DaemonOptions; devices: Record<string, string[]> } {
    const o = this.options as unknown as Record<string, unknown>;
    const daemon = { ...Object.fromEntries(DAEMON_CONFIG_KEYS.filter((k) => o[k] !== undefined).map((k) => [k, o[k]])), ...this.placementGiven };
    return { version: CONFIG_VERSION, daemon, devices: Object.fromEntries([...this.devices].map(([dev, d]) => [dev, treeCommands(d.tree)])) };
  }

  /** Stops the arbiter, sending what is queued (bounded); final per-link accounting. */
  async close(): Promise<LinkStats[]> {
    await this.follower?.stop();
    clearInterval(this.sampler);
    clearInterval(this.portWatch);
    await this.queue;
    for (const d of this.devices.values()) await stopSources(this.options.runDir, d);
    // A dead arbiter has no final accounting to give; the others still stop cleanly.
    const finals = await Promise.allSettled(this.arbiters.map((a) => a.close({ drain: true, timeoutMs: 2000 })));
    return finals.flatMap((f) => (f.status === 'fulfilled' ? f.value : []));
  }
}
