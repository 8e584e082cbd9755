/**
 * `pspat daemon --metrics HOST:PORT`: Prometheus exposition (prom-client) at /metrics.
 *
 * Each scrape reads every device live from the shared memory the arbiter writes
 * (LinkHandle.liveStats: counters, per-stage histograms; a class's backlog is what arrived
 * less what was sent or dropped) and asks the arbiter only for its schedulers' own
 * per-class counters (htb's overlimits), so scrapers do not stall the arbiter with
 * snapshots; scrapes within SCRAPE_REUSE_MS share one rendering. Counters are set to the
 * daemon's own totals (reset + inc), so they are monotonic for as long as a device stays
 * managed, as Prometheus expects.
 *
 *   pspat_class_{sent_packets,sent_bytes,overlimits}_total{dev,class}
 *   pspat_class_dropped_packets_total{dev,class,reason}
 *   pspat_class_backlog_{packets,bytes}{dev,class}
 *   pspat_class_{rate,ceil}_bits_per_second{dev,class}         what tc configured (htb, tbf)
 *   pspat_class_delay_seconds_{bucket,sum,count}{dev,class,stage} stage: mailbox | queue | tx
 *   pspat_link_stage_sample{dev}                                 the delay histograms hold 1 packet in this many per class
 *   pspat_qdisc_{bytes,packets,drops,overlimits,requeues}_total{device,kind}, pspat_qdisc_{backlog,current_queue_length}{device,kind}
 *        the managed root qdiscs, named as node_exporter's qdisc collector names the kernel's
 *   pspat_link_{offered,unclassified,bad_frames}_packets_total{dev}
 *   pspat_port_up{dev} (0 while the device cannot transmit), pspat_port_{faults,retries,tx_errors,mtu_suspect}_total{dev}
 *   pspat_arbiter_{passes,busy_passes,parks}_total{arbiter}, pspat_arbiter_parked_seconds_total{arbiter}
 *   pspat_arbiter_pass_seconds_{bucket,sum,count}{arbiter}, pspat_arbiter_batch_packets_{bucket,sum,count}{arbiter}
 *   pspat_arbiter_info{arbiter,cpus,wait,thread} 1, pspat_arbiter_priority{arbiter} (SCHED_FIFO, 0: normal)
 * plus prom-client's process metrics (memory, CPU, event loop lag), prefixed pspat_.
 */
import { createServer, type Server } from 'node:http';
import { performance } from 'node:perf_hooks';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { InvalidOptionError } from '../errors.js';
import type { ClassXstats } from '../../schedulers/types.js';
import { STAGES } from '../stats/class-histograms.js';
import type { LoopStats } from '../stats/loop-stats.js';
import { threadWaits } from '../stats/thread-waits.js';
import type { PlacementPlan } from '../placement.js';
import { labelOf, type DeviceReading } from './observe.js';
import { BATCH_BUCKETS, DELAY_BUCKETS_S, HistogramFamily } from './metric-histograms.js';
/** Scrapes within this time of one another get the same rendering. */
export const SCRAPE_REUSE_MS = 1000;
/** Open metrics connections at most (further ones are refused at once). */
export const MAX_METRICS_CONNECTIONS = 64;
/** An idle or slow metrics connection is closed after this long. */
export const METRICS_IDLE_MS = 5000;

export interface MetricsSource {
  /** Live readings (counters and histograms from shared memory), not arbiter snapshots. */
  liveReadings(): Promise<DeviceReading[]>;
  loops(): LoopStats[];
  placement(): { plan: PlacementPlan; arbiterThreads: number[] };
}

/** Parses `HOST:PORT` (`[::1]:9932` for IPv6); port 0 picks a free one. */
export function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port >= 0 && port <= 65535)) throw new InvalidOptionError('metrics', `expected HOST:PORT (e.g. 127.0.0.1:9932), got '${text}'`);
  return { host: m[1] ?? m[2], port };
}

/** A class's overlimits, from its scheduler's xstats (htb's; 0 for schedulers that keep none). */
function overlimitsOf(c: { xstats: ClassXstats | null }): number {
  const over = c.xstats?.overlimits;
  return typeof over === 'number' ? over : 0;
}

export class MetricsRegistry {
  readonly registry = new Registry();
  private readonly c = (name: string, help: string, labels: string[]) => new Counter({ name, help, labelNames: labels, registers: [this.registry] });
  private readonly g = (name: string, help: string, labels: string[]) => new Gauge({ name, help, labelNames: labels, registers: [this.registry] });
  private readonly h = (name: string, help: string, bounds: number[], unit = 1) => {
    const family = new HistogramFamily(name, help, bounds, unit);
    this.registry.registerMetric(family as never);
    return family;
  };

  private readonly sentPackets = this.c('pspat_class_sent_packets_total', 'Packets the class sent', ['dev', 'class']);
  private readonly sentBytes = this.c('pspat_class_sent_bytes_total', 'Bytes the class sent', ['dev', 'class']);
  private readonly dropped = this.c('pspat_class_dropped_packets_total', 'Packets the class dropped, by reason', ['dev', 'class', 'reason']);
  private readonly overlimits = this.c('pspat_class_overlimits_total', 'Times the class was out of tokens (htb)', ['dev', 'class']);
  private readonly backlogPackets = this.g('pspat_class_backlog_packets', 'Packets queued in the class', ['dev', 'class']);
  private readonly backlogBytes = this.g('pspat_class_backlog_bytes', 'Bytes queued in the class', ['dev', 'class']);
  private readonly rate = this.g('pspat_class_rate_bits_per_second', "The class's configured rate (htb rate, tbf rate)", ['dev', 'class']);
  private readonly ceil = this.g('pspat_class_ceil_bits_per_second', "The class's configured ceiling (htb ceil)", ['dev', 'class']);
  private readonly delay = this.h(
    'pspat_class_delay_seconds',
    'Delay since start, by stage (mailbox: hand-over to the arbiter; queue: in the class; tx: on the transmit port)',
    DELAY_BUCKETS_S,
    1e-9,
  );
  private readonly qdiscBytes = this.c('pspat_qdisc_bytes_total', "Bytes the managed root qdisc sent (node_exporter's node_qdisc_bytes_total, for pspat's)", [
    'device',
    'kind',
  ]);
  private readonly qdiscPackets = this.c('pspat_qdisc_packets_total', 'Packets the managed root qdisc sent', ['device', 'kind']);
  private readonly qdiscDrops = this.c('pspat_qdisc_drops_total', 'Packets the managed root qdisc dropped', ['device', 'kind']);
  private readonly qdiscOverlimits = this.c('pspat_qdisc_overlimits_total', "Times the managed root qdisc's classes were out of tokens", ['device', 'kind']);
  private readonly qdiscRequeues = this.c('pspat_qdisc_requeues_total', 'Requeues (always 0: pspat does not requeue)', ['device', 'kind']);
  private readonly qdiscBacklog = this.g('pspat_qdisc_backlog', 'Bytes queued in the managed root qdisc', ['device', 'kind']);
  private readonly qdiscQueue = this.g('pspat_qdisc_current_queue_length', 'Packets queued in the managed root qdisc', ['device', 'kind']);
  private readonly stageSample = this.g(
    'pspat_link_stage_sample',
    'pspat_class_delay_seconds holds one packet in this many of each class (--stage-sample; 1: every packet)',
    ['dev'],
  );
  private readonly offered = this.c('pspat_link_offered_packets_total', 'Packets clients handed to the link', ['dev']);
  private readonly unclassified = this.c('pspat_link_unclassified_packets_total', 'Packets no filter classified (dropped)', ['dev']);
  private readonly badFrames = this.c('pspat_link_bad_frames_total', 'Frames refused before a class was charged', ['dev']);
  private readonly portUp = this.g('pspat_port_up', '1 while the device transmits, 0 while it is down or gone', ['dev']);
  private readonly portFaults = this.c('pspat_port_faults_total', 'Times the transmit port faulted (device down or gone, or stalled)', ['dev']);
  private readonly portRetries = this.c('pspat_port_retries_total', 'Kicks the device refused for a moment (ENOBUFS, EAGAIN, EBUSY), retried', ['dev']);
  private readonly portTxErrors = this.c('pspat_port_tx_errors_total', 'Frames the transmit port failed', ['dev']);
  private readonly portMtuSuspect = this.c(
    'pspat_port_mtu_suspect_total',
    'AF_PACKET: frames counted as sent that its kernel may have dropped unseen (released over a lowered MTU before pspat saw it)',
    ['dev'],
  );
  private readonly bypassed = this.c(
    'pspat_divert_bypassed_packets_total',
    "Packets a taken-over device sent on the kernel's own path, unshaped, while the daemon's heartbeat was stale (fail open)",
    ['dev'],
  );
  private readonly passes = this.c('pspat_arbiter_passes_total', 'Arbiter loop passes', ['arbiter']);
  private readonly busyPasses = this.c('pspat_arbiter_busy_passes_total', 'Passes that moved packets', ['arbiter']);
  private readonly parks = this.c('pspat_arbiter_parks_total', 'Times the arbiter parked', ['arbiter']);
  private readonly parked = this.c('pspat_arbiter_parked_seconds_total', 'Time the arbiter spent parked', ['arbiter']);
  private readonly stalls = this.c(
    'pspat_arbiter_stalls_total',
    'Times the arbiter went 1 ms or more without a pass, not parked: kept off its CPU (preempted, or its virtual CPU stopped by the host) or paused',
    ['arbiter'],
  );
  private readonly stalled = this.c('pspat_arbiter_stalled_seconds_total', 'Time those stalls took', ['arbiter']);
  private readonly yields = this.c('pspat_arbiter_yields_total', 'Times the spinning arbiter gave its CPU to a client it had just woken (sched_yield)', [
    'arbiter',
  ]);
  private readonly runDelay = this.c(
    'pspat_arbiter_run_delay_seconds_total',
    "Time the arbiter thread was runnable but not running: preempted, or woken and waiting for a CPU (the kernel's schedstat)",
    ['arbiter'],
  );
  private readonly preemptions = this.c(
    'pspat_arbiter_preemptions_total',
    "Times another thread took the arbiter thread's CPU (involuntary context switches)",
    ['arbiter'],
  );
  private readonly passTime = this.h('pspat_arbiter_pass_seconds', 'Duration of passes that moved packets', DELAY_BUCKETS_S, 1e-9);
  private readonly batch = this.h('pspat_arbiter_batch_packets', 'Packets per release batch', BATCH_BUCKETS);
  private readonly wake = this.h(
    'pspat_arbiter_wake_seconds',
    "A parked arbiter's wake-up latency: a client's ring to the arbiter running again",
    DELAY_BUCKETS_S,
    1e-9,
  );
  private readonly arbiterInfo = this.g('pspat_arbiter_info', 'Where the arbiter thread runs (CPUs, how it waits, kernel thread id)', [
    'arbiter',
    'cpus',
    'wait',
    'thread',
  ]);
  private readonly arbiterPriority = this.g('pspat_arbiter_priority', 'SCHED_FIFO priority of the arbiter thread (0: normal policy)', ['arbiter']);
  private readonly arbiterNice = this.g('pspat_arbiter_nice', 'nice value of the arbiter thread under the normal policy', ['arbiter']);

  constructor(private readonly source: MetricsSource) {
    collectDefaultMetrics({ register: this.registry, prefix: 'pspat_' });
  }

  /** Reads the daemon and renders the exposition text. */
  async render(): Promise<string> {
    const readings = await this.source.liveReadings();
    for (const m of [
      this.sentPackets,
      this.sentBytes,
      this.dropped,
      this.overlimits,
      this.backlogPackets,
      this.backlogBytes,
      this.rate,
      this.ceil,
      this.delay,
      this.stageSample,
      this.offered,
      this.unclassified,
      this.badFrames,
      this.portUp,
      this.portFaults,
      this.portRetries,
      this.portTxErrors,
      this.portMtuSuspect,
      this.bypassed,
    ])
      m.reset();
    for (const m of [this.qdiscBytes, this.qdiscPackets, this.qdiscDrops, this.qdiscOverlimits, this.qdiscRequeues, this.qdiscBacklog, this.qdiscQueue])
      m.reset();
    for (const r of readings) {
      const dev = r.dev;
      const q = { device: dev, kind: r.kind };
      const classes = r.stats.classes;
      const total = (f: (c: (typeof classes)[number]) => number) => classes.reduce((a, c) => a + f(c), 0);
      this.qdiscBytes.inc(
        q,
        total((c) => c.sentBytes),
      );
      this.qdiscPackets.inc(
        q,
        total((c) => c.sentPackets),
      );
      this.qdiscDrops.inc(
        q,
        total((c) => c.droppedPackets),
      );
      this.qdiscOverlimits.inc(q, total(overlimitsOf));
      this.qdiscRequeues.inc(q, 0);
      this.qdiscBacklog.set(
        q,
        total((c) => c.backlogBytes),
      );
      this.qdiscQueue.set(
        q,
        total((c) => c.backlogPackets),
      );
      this.stageSample.set({ dev }, r.stats.stageSample);
      this.offered.inc({ dev }, r.stats.totals.offered);
      this.unclassified.inc({ dev }, r.stats.unclassified);
      this.badFrames.inc({ dev }, r.stats.badFrames);
      const port = r.stats.port;
      this.portUp.set({ dev }, port.fault === null ? 1 : 0);
      this.portFaults.inc({ dev }, port.faults);
      this.portRetries.inc({ dev }, port.retries);
      this.portTxErrors.inc({ dev }, port.txErrors);
      this.portMtuSuspect.inc({ dev }, port.mtuSuspect);
      if (r.bypassed !== null) this.bypassed.inc({ dev }, r.bypassed);
      for (const c of r.stats.classes) {
        const l = { dev, class: labelOf(r, c.slot) };
        this.sentPackets.inc(l, c.sentPackets);
        this.sentBytes.inc(l, c.sentBytes);
        for (const [reason, n] of Object.entries(c.drops)) this.dropped.inc({ ...l, reason }, n);
        this.overlimits.inc(l, overlimitsOf(c));
        this.backlogPackets.set(l, c.backlogPackets);
        this.backlogBytes.set(l, c.backlogBytes);
        const configured = r.configured.get(c.slot);
        if (configured) {
          this.rate.set(l, configured.rate);
          this.ceil.set(l, configured.ceil);
        }
        for (const stage of STAGES) {
          const h = c.stages[stage];
          if (h !== undefined) this.delay.set({ ...l, stage }, h);
        }
      }
    }
    // Reset once for all arbiters: a reset per arbiter would drop the ones before it.
    for (const m of [
      this.passes,
      this.busyPasses,
      this.parks,
      this.parked,
      this.stalls,
      this.stalled,
      this.yields,
      this.runDelay,
      this.preemptions,
      this.arbiterInfo,
      this.passTime,
      this.batch,
      this.wake,
    ])
      m.reset();
    const { plan, arbiterThreads } = this.source.placement();
    this.source.loops().forEach((loop, i) => {
      const arbiter = String(i);
      const f = loop.read();
      for (const [m, v] of [
        [this.passes, f.passes],
        [this.busyPasses, f.busyPasses],
        [this.parks, f.parks],
        [this.parked, f.parkedNs / 1e9],
        [this.stalls, f.stalls],
        [this.stalled, f.stallNs / 1e9],
        [this.yields, f.yields],
      ] as const) {
        m.inc({ arbiter }, v);
      }
      const waits = threadWaits(f.threadId);
      if (waits !== null) {
        this.runDelay.inc({ arbiter }, waits.runDelayNs / 1e9);
        this.preemptions.inc({ arbiter }, waits.preemptions);
      }
      const p = plan.arbiters[i];
      this.arbiterInfo.set({ arbiter, cpus: p.cpus.join(',') || 'any', wait: p.wait, thread: String(arbiterThreads[i]) }, 1);
      this.arbiterPriority.set({ arbiter }, p.priority);
      this.arbiterNice.set({ arbiter }, p.nice);
      this.passTime.set({ arbiter }, loop.passTime);
      this.batch.set({ arbiter }, loop.batchSize);
      this.wake.set({ arbiter }, loop.wake);
    });
    return this.registry.metrics();
  }
}

/** Serves /metrics; resolves once listening, with the address bound. */
export async function serveMetrics(listen: string, source: MetricsSource): Promise<{ server: Server; url: string }> {
  const { host, port } = parseListen(listen);
  const metrics = new MetricsRegistry(source);
  // Scrapes share one rendering for SCRAPE_REUSE_MS: looping scrapers cost the arbiter
  // one snapshot per link in that time, however many there are.
  let rendered: { at: number; text: Promise<string> } | null = null;
  const render = (): Promise<string> => {
    const now = performance.now();
    if (rendered === null || now - rendered.at > SCRAPE_REUSE_MS) rendered = { at: now, text: metrics.render() };
    return rendered.text;
  };
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics\n');
      return;
    }
    render().then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      (e: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`pspat: ${e.message}\n`),
    );
  });
  // Bounded: idle or slow connections cannot use up the daemon's descriptors.
  server.maxConnections = MAX_METRICS_CONNECTIONS;
  server.headersTimeout = METRICS_IDLE_MS;
  server.requestTimeout = METRICS_IDLE_MS;
  server.keepAliveTimeout = METRICS_IDLE_MS;
  server.setTimeout(METRICS_IDLE_MS, (socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(new InvalidOptionError('metrics', `cannot listen on ${listen}: ${e.code ?? e.message}`)));
    server.listen(port, host, resolve);
  });
  const addr = server.address();
  const bound = typeof addr === 'object' && addr !== null ? addr.port : port;
  return { server, url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}/metrics` };
}
