/**
 * The egress takeover scenario, twice on the same topology (src/testbed/vm-topology.ts: three
 * VM namespaces routed by a host namespace to an uplink veth and a sink): once with the
 * kernel's own htb on the uplink (`tc`), once with pspat attached (`pspat tc`, the same
 * command lines). Per mode:
 *   rates    VMs send UDP (1000 B) at 1.5× their class rates: Mbit/s per VM at the sink;
 *   delay    on a tree applied afresh (nothing left queued from the rates phase), VMs send
 *            stamped UDP (200 B) at half their rates: one-way delay, kernel timestamps at
 *            the sink (src/bench/stamp-sink.ts), all VMs together; for pspat also its own
 *            stages (mailbox: diverted → arbiter, queue, tx), all classes merged;
 *   Mpps     class rates far above the machine, VMs send 64 B frames flat out (vm-traffic's
 *            flood: a native sendmmsg loop, so the senders cost what a guest's UDP send
 *            costs the kernel, not a node loop's ≈ 10 µs and garbage): packets per second at
 *            the sink's counter, and the host's busy CPU time per packet delivered (every
 *            thread and softirq: senders, pspat, sink alike; /proc/stat).
 * Prints one table, writes JSON (runs/bench-egress.json, or --out FILE).
 *
 *   npm run bench:egress [-- --seconds 3] [-- --modes tc,pspat] [-- --out FILE] [-- --daemon-flags "--arbiter-priority 50"]
 * (root; the native addon). --daemon-flags: more `pspat daemon` flags for the pspat mode.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { busyCpuNs } from '../src/bench/cpu-time.js';
import { StampSink } from '../src/bench/stamp-sink.js';
import { formatNs, renderTable } from '../src/report/table.js';
import { newEpoch } from '../src/clock.js';
import { sinkPackets } from '../src/testbed/netns.js';
import { createVmTopology, SINK_ADDR, UPLINK, UPLINK_PEER, vmAddress, type VmTopology } from '../src/testbed/vm-topology.js';
import { ARBITER_STAGES, type ArbiterStage } from '../src/stats/class-histograms.js';
import { histogramsFromJson, readRunFile, type Run } from '../src/report/run-file.js';
import { percentiles, stagePercentiles, type LatencyNs } from '../src/bench/e2e.js';
import { benchOptions } from './options.js';

const options = benchOptions('npm run bench:egress -- [options]: the kernel htb and pspat attached, on the same VM topology (root)', {
  seconds: { default: '3', help: 'seconds per phase' },
  modes: { default: 'tc,pspat', help: 'which to run: tc, pspat or both' },
  out: { default: 'runs/bench-egress.json', help: 'where the JSON goes' },
  'daemon-flags': { default: '', help: 'more `pspat daemon` flags for the pspat mode, one argument: "--arbiter-priority 50"' },
});
const out = options.out;
const seconds = Number(options.seconds);
// The rates phase measures from its first second to half a second before its end.
if (!(seconds >= 2)) {
  process.stderr.write(`--seconds: at least 2 (the rates phase measures from 1 s to 0.5 s before its end), got '${options.seconds}'\n`);
  process.exit(2);
}
const daemonFlags = options['daemon-flags'].split(' ').filter((w) => w !== '');
/** Class rate per VM, Mbit/s. */
const RATES = [20, 40, 60];
const UNSHAPED_MBIT = 10_000;
const PSPAT_BIN = fileURLToPath(new URL('../../bin/pspat.js', import.meta.url));
const script = (name: string) => fileURLToPath(new URL(`../src/bench/${name}.js`, import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Mode = 'tc' | 'pspat';

/** The same tc command lines for both: `tc` in the host namespace, or `pspat tc`. */
function treeLines(rates: number[]): string[] {
  const total = rates.reduce((a, b) => a + b, 0);
  return [
    `qdisc add dev ${UPLINK} root handle 1: htb`,
    `class add dev ${UPLINK} parent 1: classid 1:1 htb rate ${total}mbit`,
    ...rates.map((r, i) => `class add dev ${UPLINK} parent 1:1 classid 1:${i + 1}0 htb rate ${r}mbit ceil ${r}mbit`),
    ...rates.map((_, i) => `filter add dev ${UPLINK} protocol ip parent 1: prio 1 u32 match ip src ${vmAddress(i + 1)}/32 flowid 1:${i + 1}0`),
  ];
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    let text = '';
    let err = '';
    c.stdout.on('data', (d: Buffer) => (text += d.toString()));
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    c.once('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`${cmd} ${args.join(' ')}: ${err.trim()}`))));
  });
}

class Setup {
  private daemon: ChildProcess | null = null;
  /** The daemon's line saying how it captures the uplink's packets (ring, XDP or packet socket). */
  capture = '';
  private readonly runDir = join(mkdtempSync(join(tmpdir(), 'pspat-bench-egress-')), 'run');

  constructor(
    private readonly topo: VmTopology,
    readonly mode: Mode,
  ) {}

  async start(): Promise<void> {
    if (this.mode === 'tc') return;
    this.daemon = spawn(
      'ip',
      [
        'netns',
        'exec',
        this.topo.host,
        process.execPath,
        PSPAT_BIN,
        'daemon',
        '--run-dir',
        this.runDir,
        '--backend',
        'afxdp',
        '--rate',
        `${UPLINK}=${UNSHAPED_MBIT}mbit`,
        ...daemonFlags,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let log = '';
    await new Promise<void>((resolve, reject) => {
      this.daemon!.stderr!.on('data', (d: Buffer) => {
        log += d.toString();
        this.capture = /capture by .*/.exec(log)?.[0] ?? this.capture;
        if (log.includes('listening on')) resolve();
      });
      this.daemon!.once('exit', (code) => reject(new Error(`daemon exited with ${code}: ${log}`)));
    });
  }

  async apply(rates: number[]): Promise<void> {
    for (const line of treeLines(rates)) {
      if (this.mode === 'tc') await run('ip', ['netns', 'exec', this.topo.host, 'tc', ...line.split(' ')]);
      else await run(process.execPath, [PSPAT_BIN, 'tc', ...line.split(' ')], { ...process.env, PSPAT_RUN_DIR: this.runDir });
    }
  }

  /** pspat: its saved run (`pspat stats --save`), since the tree was applied; null for the kernel's htb. */
  async saved(): Promise<Run | null> {
    if (this.mode === 'tc') return null;
    const file = join(this.runDir, '..', `stats-${Date.now()}.json`);
    await run(process.execPath, [PSPAT_BIN, 'stats', '--save', file], { ...process.env, PSPAT_RUN_DIR: this.runDir });
    return readRunFile(file).runs[0];
  }

  async clear(): Promise<void> {
    const del = ['qdisc', 'del', 'dev', UPLINK, 'root'];
    if (this.mode === 'tc') await run('ip', ['netns', 'exec', this.topo.host, 'tc', ...del]);
    else await run(process.execPath, [PSPAT_BIN, 'tc', ...del], { ...process.env, PSPAT_RUN_DIR: this.runDir });
  }

  async stop(): Promise<void> {
    if (!this.daemon) return;
    const d = this.daemon;
    await new Promise((resolve) => {
      d.once('exit', resolve);
      d.kill('SIGTERM');
    });
  }
}

/**
 * VM senders: UDP at `mbit[k]` with `size`-byte datagrams for `seconds` (stamped when
 * `epoch` is given), or with `mbit` 'flood', as fast as each VM's kernel takes them.
 */
function senders(topo: VmTopology, mbit: number[] | 'flood', size: number, epoch?: bigint): Promise<number[]> {
  return Promise.all(
    topo.vms.map((vm, i) =>
      run('ip', [
        'netns',
        'exec',
        vm,
        process.execPath,
        script('vm-traffic'),
        mbit === 'flood' ? 'flood' : 'udp',
        SINK_ADDR,
        '5001',
        mbit === 'flood' ? '0' : String(mbit[i]),
        String(size),
        String(seconds),
        ...(epoch !== undefined ? [String(epoch), String(i)] : []),
      ]).then((t) => (JSON.parse(t) as { sent: number }).sent),
    ),
  );
}

interface ModeFigures {
  vmMbit: number[];
  mpps: number;
  /** Busy CPU ns of the whole host per packet delivered, in the Mpps phase. */
  cpuNsPerPacket: number;
  /** pspat: its counters at the end of the delay phase, and of the Mpps phase (bypassed: sent around pspat while its heartbeat was stale). */
  counters?: { shaped: Record<string, number>; mpps: Record<string, number>; capture: string };
  latencyNs: LatencyNs;
  /** pspat: its own stages in the delay phase, every class merged. */
  stagesNs?: Partial<Record<ArbiterStage, LatencyNs>>;
}

/** What went around pspat or was lost before a class saw it (RUN.json counters). */
function lossCounters({ counters }: Run): Record<string, number> {
  return { bypassed: counters.bypassed, captureDrops: counters.captureDrops, unclassified: counters.unclassified, dropped: counters.dropped };
}

async function measure(topo: VmTopology, mode: Mode): Promise<ModeFigures> {
  const setup = new Setup(topo, mode);
  await setup.start();
  const sink = spawn('ip', ['netns', 'exec', topo.sink, process.execPath, script('source-sink'), '5001', '5002'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: string[] = [];
  const waiting: ((l: string) => void)[] = [];
  createInterface({ input: sink.stdout! }).on('line', (l) => (waiting.length > 0 ? waiting.shift()!(l) : lines.push(l)));
  const next = () => (lines.length > 0 ? Promise.resolve(lines.shift()!) : new Promise<string>((r) => waiting.push(r)));
  try {
    await next(); // ready
    // Rates: overload every class; measure the middle of the run.
    await setup.apply(RATES);
    const traffic = senders(
      topo,
      RATES.map((r) => r * 1.5),
      1000,
    );
    await sleep(1000);
    sink.stdin!.write('mark\n');
    const m0 = JSON.parse(await next());
    await sleep((seconds - 1.5) * 1000);
    sink.stdin!.write('mark\n');
    const m1 = JSON.parse(await next());
    await traffic;
    const vmMbit = RATES.map((_, i) => {
      const a = vmAddress(i + 1);
      return ((m1.sources[a].udpBytes - m0.sources[a].udpBytes) * 8) / ((m1.t - m0.t) * 1e3);
    });
    await sleep(500);

    // Delay: half of each class's rate, every datagram stamped and timed at the sink, on a
    // tree applied afresh: the rates phase leaves each class up to its queue limit of 1000 B
    // datagrams, which take up to 0.4 s to drain at 20 Mbit/s.
    await setup.clear();
    await setup.apply(RATES);
    const epoch = newEpoch();
    const stamps = new StampSink(topo.sink, UPLINK_PEER, epoch);
    stamps.start();
    await senders(
      topo,
      RATES.map((r) => r / 2),
      200,
      epoch,
    );
    stamps.close();
    const delayRun = await setup.saved();
    await setup.clear();

    // Mpps: classes far above the machine, 64 B frames as fast as the VMs send.
    await setup.apply(RATES.map(() => UNSHAPED_MBIT / RATES.length));
    const p0 = sinkPackets({ ns: topo.sink, peer: UPLINK_PEER });
    const t0 = performance.now();
    const cpu0 = busyCpuNs();
    await senders(topo, 'flood', 22);
    const cpuNs = busyCpuNs() - cpu0;
    const packets = sinkPackets({ ns: topo.sink, peer: UPLINK_PEER }) - p0;
    const mpps = packets / ((performance.now() - t0) * 1e3);
    const mppsRun = await setup.saved();
    await setup.clear();
    return {
      vmMbit,
      mpps,
      cpuNsPerPacket: cpuNs / packets,
      latencyNs: percentiles(stamps.e2e.values()),
      ...(delayRun &&
        mppsRun && {
          counters: { shaped: lossCounters(delayRun), mpps: lossCounters(mppsRun), capture: setup.capture },
          stagesNs: stagePercentiles(delayRun.classes.map((c) => histogramsFromJson(c.stages))),
        }),
    };
  } finally {
    sink.stdin!.write('quit\n');
    await setup.stop();
  }
}

const topo = createVmTopology('be', RATES.length);
const results: Partial<Record<Mode, ModeFigures>> = {};
try {
  for (const mode of options.modes.split(',') as Mode[]) results[mode] = await measure(topo, mode);
} finally {
  topo.destroy();
}
console.log(`egress: 3 VMs → host → uplink veth → sink; htb rate=ceil ${RATES.join('/')} Mbit/s per VM; ${seconds}s per phase`);
console.log(
  renderTable(
    ['uplink scheduler', ...RATES.map((r, i) => `VM${i + 1} (${r})`), 'Mpps (64 B)', 'CPU/packet', 'p50', 'p90', 'p99', 'p99.9'],
    Object.entries(results).map(([mode, f]) => [
      mode === 'tc' ? 'kernel htb (tc)' : 'pspat attached',
      ...f.vmMbit.map((v) => v.toFixed(2)),
      f.mpps.toFixed(3),
      formatNs(f.cpuNsPerPacket),
      ...[f.latencyNs.p50, f.latencyNs.p90, f.latencyNs.p99, f.latencyNs.p999].map(formatNs),
    ]),
  ),
);
const stages = results.pspat?.stagesNs;
if (stages) {
  console.log("pspat's own stages in the delay phase (mailbox: diverted → arbiter; queue: arbiter → release; tx: release → completion)");
  console.log(
    renderTable(
      ['stage', 'p50', 'p90', 'p99', 'p99.9'],
      ARBITER_STAGES.flatMap((stage) => {
        const p = stages[stage];
        return p ? [[stage, ...[p.p50, p.p90, p.p99, p.p999].map(formatNs)]] : [];
      }),
    ),
  );
}
const c = results.pspat?.counters;
if (c) console.log(`pspat: ${c.capture}; ${JSON.stringify(c.shaped)} after the delay phase, ${JSON.stringify(c.mpps)} after Mpps`);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify({ date: new Date().toISOString(), seconds, rates: RATES, daemonFlags, modes: results }, null, 2)}\n`);
console.log(`wrote ${out}`);
