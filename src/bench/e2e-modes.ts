/**
 * The three ways `bench e2e` sends on one veth, behind one face: start senders (flat out,
 * or paced to a total packet rate, stamping frames when delay is measured), read how many
 * packets each class's scheduler has sent, stop.
 *   raw    one thread on the port (`--backend`), qdisc bypassed: the physical limit;
 *   tc     N threads on AF_PACKET without qdisc bypass, through the kernel's htb with K
 *          leaves and u32 filters (kernel-htb.ts);
 *   pspat  N generator clients → mailboxes → the arbiter (scheduler S, K classes) → the port.
 */
import { Worker } from 'node:worker_threads';
import { startGenerators, type GeneratorFleet } from '../../traffic/generators.js';
import { ArbiterHost, type LinkHandle } from '../arbiter/host.js';
import { newEpoch, type ClockEpoch } from '../clock.js';
import { WorkerFailedError } from '../errors.js';
import type { StageHistograms } from '../stats/class-histograms.js';
import { Histogram } from '../stats/histogram.js';
import { workerUrl } from '../worker-url.js';
import type { XdpMode } from '../transmit/native-port.js';
import type { NativeBackend } from '../transmit/ports.js';
import { slotsFor, weightedClasses } from '../../schedulers/weighted-classes.js';
import { htbLeafPackets, installHtb, removeHtb } from './kernel-htb.js';
import { threadWaits, type ThreadWaits } from '../stats/thread-waits.js';
import type { PortSenderSpec } from './port-sender.js';
import { arbiterPlacement, UNPLACED, type PlacementPlan, type ThreadPlacement } from '../placement.js';

export type Mode = 'raw' | 'tc' | 'pspat';
export const MODES: readonly Mode[] = ['raw', 'tc', 'pspat'];

/** What every mode is configured from (bench e2e's options, resolved). */
export interface ModeSetup {
  backend: NativeBackend;
  dev: string;
  xdpMode: XdpMode;
  clients: number;
  classes: number;
  scheduler: string;
  size: number;
  txWorkers: number;
  /** Link rate, bit/s; 0: unshaped (the senders are the limit). */
  rate: number;
  /** Where pspat's threads run; raw and tc senders get the same CPUs, one each in turn. */
  plan: PlacementPlan;
}

export interface ArbiterSoFar {
  stages: Map<number, StageHistograms>;
  /** The arbiter loop's stalls (LOOP_STALLS) and their total time (ns). */
  stalls: number;
  stallNs: number;
  /** A copy of its wake-up latency histogram (LoopStats.wake). */
  wake: Histogram;
  /** Its thread's scheduler counts (null: not known). */
  waits: ThreadWaits | null;
}

/** Collections an arbiter's isolate made in a window: how many, and the longest (ns). */
export interface ArbiterCollections {
  count: number;
  maxNs: number;
}

export interface ModeDriver {
  /** Starts the senders: `pps` 0 flat out, else that many packets per second in total. */
  start(pps: number, stamp: boolean): Promise<void>;
  /** The clock epoch the senders stamp with (valid after `start`). */
  readonly epoch: ClockEpoch;
  /** Packets sent so far per class by the mode's scheduler; null where there is none (raw). */
  classSent(): Promise<number[] | null>;
  /**
   * pspat: what its arbiter recorded so far — each class's stage histograms, the loop's
   * stalls and wake-ups — read from shared memory without stopping it (a window's is the
   * difference of two reads, `edge` saying which this is: it marks that edge of the window
   * whose collections the arbiter counts apart); null for the others.
   */
  arbiterSoFar(edge: 'start' | 'end'): Promise<ArbiterSoFar | null>;
  /** Stops the senders. */
  stop(): Promise<void>;
  /**
   * pspat, after `stop`: the collections its arbiter made between the `start` and `end`
   * reads (its isolate reports them once its loop has ended); null for the others.
   */
  arbiterCollections(): ArbiterCollections | null;
  /** Undoes what the mode set up on the device. */
  teardown(): void;
}

/** Rate far above what the machine can send: unshaped. */
const UNSHAPED = 1e15;
/** An htb root class rate that no sender here reaches (htb needs a finite one). */
const HTB_UNSHAPED = 40e9;

/** Port-sender threads (raw and tc). */
class PortSenders {
  private workers: Worker[] = [];
  private results: Promise<number>[] = [];
  private stopWord = new SharedArrayBuffer(4);
  epoch: ClockEpoch = newEpoch();

  constructor(
    private readonly spec: (i: number) => Omit<PortSenderSpec, 'pps' | 'stamp' | 'epoch'>,
    private readonly count: number,
  ) {}

  async start(pps: number, stamp: boolean): Promise<void> {
    this.stopWord = new SharedArrayBuffer(4);
    this.epoch = newEpoch();
    const online: Promise<void>[] = [];
    for (let i = 0; i < this.count; i++) {
      const w = new Worker(workerUrl('./port-sender-worker.js', import.meta.url), {
        workerData: { spec: { ...this.spec(i), pps: pps / this.count, stamp, epoch: this.epoch }, stop: this.stopWord },
      });
      this.workers.push(w);
      online.push(new Promise((resolve) => w.once('online', () => resolve())));
      this.results.push(
        new Promise((resolve, reject) => {
          w.once('message', resolve);
          w.once('error', (e) => reject(new WorkerFailedError(`sender ${i} failed: ${e.message}`)));
        }),
      );
    }
    await Promise.all(online);
  }

  async stop(): Promise<void> {
    Atomics.store(new Int32Array(this.stopWord), 0, 1);
    try {
      await Promise.all(this.results);
    } finally {
      await Promise.all(this.workers.map((w) => w.terminate()));
      this.workers = [];
      this.results = [];
    }
  }
}

/** raw and tc: port-sender threads; `classSent` reads the kernel's scheduler where there is one. */
function portDriver(senders: PortSenders, classSent: () => Promise<number[] | null>, teardown: () => void): ModeDriver {
  return {
    start: (pps, stamp) => senders.start(pps, stamp),
    get epoch() {
      return senders.epoch;
    },
    classSent,
    arbiterSoFar: async () => null,
    stop: () => senders.stop(),
    arbiterCollections: () => null,
    teardown,
  };
}

/**
 * Sender i's placement: the CPUs pspat's plan uses (clients' first, then the arbiters'),
 * one per sender in turn, at the clients' priority — so every mode gets the same CPUs.
 */
function senderPlacement(plan: PlacementPlan, i: number): ThreadPlacement {
  const cpus = [...new Set([...plan.clients.cpus, ...plan.arbiters.flatMap((a) => a.cpus)])];
  return cpus.length === 0 ? { ...UNPLACED, priority: plan.clients.priority } : { cpus: [cpus[i % cpus.length]], priority: plan.clients.priority };
}

/** Sender threads on `backend`, through the device's qdisc unless `qdiscBypass`. */
function portSenders(s: ModeSetup, backend: NativeBackend, qdiscBypass: boolean, count: number): PortSenders {
  return new PortSenders(
    (i) => ({
      backend,
      dev: s.dev,
      xdpMode: s.xdpMode,
      qdiscBypass,
      queue: 0,
      size: s.size,
      classes: s.classes,
      placement: senderPlacement(s.plan, i),
    }),
    count,
  );
}

function rawDriver(s: ModeSetup): ModeDriver {
  return portDriver(
    portSenders(s, s.backend, true, 1),
    async () => null,
    () => {},
  );
}

function tcDriver(s: ModeSetup): ModeDriver {
  installHtb(s.dev, new Array<number>(s.classes).fill(1), s.rate || HTB_UNSHAPED);
  return portDriver(
    portSenders(s, 'afpacket', false, s.clients),
    async () => htbLeafPackets(s.dev, s.classes),
    () => removeHtb(s.dev),
  );
}

function pspatDriver(s: ModeSetup): ModeDriver {
  const classes = Array.from({ length: s.classes }, (_, i) => i);
  let host: ArbiterHost | null = null;
  let link: LinkHandle | null = null;
  let fleet: GeneratorFleet | null = null;
  const framesPerClient = 1024;
  return {
    async start(pps, stamp) {
      host = await ArbiterHost.start({ poolFrames: s.clients * framesPerClient, ...arbiterPlacement(s.plan, 0) });
      try {
        const rate = s.rate || UNSHAPED;
        link = await host.addLink({
          rate,
          scheduler: s.scheduler,
          backend: s.backend,
          dev: s.dev,
          xdpMode: s.xdpMode,
          txWorkers: s.txWorkers,
          maxClasses: slotsFor(s.scheduler, s.classes),
          classes: weightedClasses(s.scheduler, new Array<number>(s.classes).fill(1), rate, { limitPackets: 256 }),
        });
        fleet = await startGenerators(
          link,
          s.clients,
          (i) => ({
            classes,
            minSize: s.size,
            maxSize: s.size,
            packets: Infinity,
            seed: i + 1,
            cycle: true,
            stamp,
            pps: pps / s.clients,
          }),
          framesPerClient,
        );
        await fleet.started;
      } catch (e) {
        await fleet?.terminate();
        await host.terminate();
        throw e;
      }
    },
    get epoch() {
      return host!.epoch;
    },
    async classSent() {
      // Counters only: copying histograms would hold the arbiter for milliseconds at the window's edge.
      const st = await link!.stats({ histograms: false });
      return classes.map((c) => st.classes.find((x) => x.slot === c)?.sentPackets ?? 0);
    },
    async arbiterSoFar(edge) {
      host!.loop.markWindow(edge === 'end');
      const live = await link!.liveStats();
      const loop = host!.loop.read();
      return {
        stages: new Map(live.classes.map((c) => [c.slot, c.stages])),
        stalls: loop.stalls,
        stallNs: loop.stallNs,
        wake: new Histogram(host!.loop.wake.data.slice()),
        waits: threadWaits(loop.threadId),
      };
    },
    async stop() {
      await fleet!.stop();
      await host!.close({ drain: false });
    },
    arbiterCollections() {
      const loop = host!.loop.read();
      return { count: loop.windowGcs, maxNs: loop.windowGcMaxNs };
    },
    teardown: () => {},
  };
}

export function modeDriver(mode: Mode, s: ModeSetup): ModeDriver {
  return mode === 'raw' ? rawDriver(s) : mode === 'tc' ? tcDriver(s) : pspatDriver(s);
}
