/**
 * The daemon's observability: Prometheus exposition at --metrics, RUN.json by `pspat stats
 * --save` and by SIGUSR1, read back by `pspat report`. Null backend, synthetic traffic.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRunFile } from '../src/report/run-file.js';
import { pspat } from './helpers/cli.js';
import { startDaemon, type RunningDaemon } from './helpers/daemon.js';

const SETUP = [
  'qdisc add dev obs0 root handle 1: htb default 20',
  'class add dev obs0 parent 1: classid 1:10 htb rate 30mbit',
  'class add dev obs0 parent 1: classid 1:20 htb rate 20mbit',
  'filter add dev obs0 protocol ip parent 1:0 prio 1 u32 match ip dport 5001 0xffff flowid 1:10',
];

let d: RunningDaemon;
let url: string;
const dir = mkdtempSync(join(tmpdir(), 'pspat-observe-'));
const usr1File = join(dir, 'usr1.json');
const withDaemon = (args: string[]) => {
  process.env.PSPAT_RUN_DIR = d.runDir;
  return pspat(args);
};

/** One sample line of the exposition format: name{label="value",...} number. */
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (-?[0-9.e+-]+|NaN|\+Inf|-Inf)$/;

describe('pspat daemon observability', () => {
  beforeAll(async () => {
    d = await startDaemon(['--rate', 'obs0=100mbit', '--test-traffic', 'obs0=5001,5002/500', '--metrics', '127.0.0.1:0', '--save', usr1File]);
    url = /metrics at (http:\/\/\S+)/.exec(d.log())![1];
    for (const line of SETUP) expect((await withDaemon(['tc', ...line.split(' ')])).code, line).toBe(0);
    await sleep(700); // traffic through both classes
  });
  afterAll(async () => {
    if (d) expect(await d.stop()).toBe(0);
  });

  it('listens on loopback only where asked and serves well-formed exposition text with the expected series', async () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const typed = new Map<string, string>();
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line);
      if (meta) {
        if (meta[1] === 'TYPE') typed.set(meta[2], meta[3]);
        continue;
      }
      expect(line, 'sample line').toMatch(SAMPLE);
      const name = SAMPLE.exec(line)![1];
      // Every sample belongs to a declared metric (histogram/summary suffixes included).
      expect(typed.has(name) || typed.has(name.replace(/_(bucket|sum|count)$/, '')), name).toBe(true);
    }
    const value = (series: string) => {
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      expect(line, series).toBeDefined();
      return Number(line!.split(' ').pop());
    };
    expect(typed.get('pspat_class_sent_packets_total')).toBe('counter');
    expect(typed.get('pspat_class_backlog_packets')).toBe('gauge');
    expect(value('pspat_class_sent_packets_total{dev="obs0",class="1:10"}')).toBeGreaterThan(100);
    expect(value('pspat_class_sent_bytes_total{dev="obs0",class="1:20"}')).toBeGreaterThan(50_000);
    // The sender's own 512 frames bound its backlog below the class's 1000-packet limit: it
    // waits for frames (backpressure) and nothing is dropped.
    expect(value('pspat_class_dropped_packets_total{dev="obs0",class="1:10",reason="queueLimit"}')).toBe(0);
    expect(value('pspat_class_backlog_packets{dev="obs0",class="1:10"}')).toBeGreaterThan(0); // a saturating sender keeps it full
    expect(value('pspat_class_overlimits_total{dev="obs0",class="1:10"}')).toBeGreaterThan(0); // htb held it to its rate
    // Delays are Prometheus histograms: cumulative buckets up to +Inf = _count, every packet
    // timed in each stage (a hand-over, a queue, a transmit), _sum > 0.
    expect(typed.get('pspat_class_delay_seconds')).toBe('histogram');
    for (const stage of ['mailbox', 'queue', 'tx']) {
      const series = `dev="obs0",class="1:10",stage="${stage}"`;
      const count = value(`pspat_class_delay_seconds_count{${series}}`);
      expect(count, stage).toBeGreaterThan(0);
      expect(value(`pspat_class_delay_seconds_bucket{${series},le="+Inf"}`), stage).toBe(count);
      expect(value(`pspat_class_delay_seconds_sum{${series}}`), stage).toBeGreaterThan(0);
      const buckets = text
        .split('\n')
        .filter((l) => l.startsWith(`pspat_class_delay_seconds_bucket{${series},`))
        .map((l) => Number(l.split(' ').pop()));
      expect(buckets, stage).toEqual([...buckets].sort((a, b) => a - b)); // cumulative
    }
    // Rate-limited at 30 Mbit/s with a full queue: most packets wait a millisecond or more in the queue.
    const queue = 'dev="obs0",class="1:10",stage="queue"';
    expect(value(`pspat_class_delay_seconds_bucket{${queue},le="0.001"}`)).toBeLessThan(value(`pspat_class_delay_seconds_count{${queue}}`) / 2);
    // What tc configured beside what the class sends, and the root qdisc under node_exporter's names.
    expect(value('pspat_class_rate_bits_per_second{dev="obs0",class="1:10"}')).toBe(30e6);
    expect(value('pspat_qdisc_packets_total{device="obs0",kind="htb"}')).toBeGreaterThanOrEqual(
      value('pspat_class_sent_packets_total{dev="obs0",class="1:10"}'),
    );
    expect(value('pspat_link_offered_packets_total{dev="obs0"}')).toBeGreaterThan(0);
    expect(value('pspat_port_up{dev="obs0"}')).toBe(1);
    expect(value('pspat_port_faults_total{dev="obs0"}')).toBe(0);
    expect(value('pspat_arbiter_passes_total{arbiter="0"}')).toBeGreaterThan(0);
    expect(value('pspat_arbiter_parked_seconds_total{arbiter="0"}')).toBeGreaterThan(0); // 50 Mbit/s leaves it idle
    // Whether this machine kept the arbiter off its CPU meanwhile is its own affair: exported, as a count.
    expect(Number.isInteger(value('pspat_arbiter_stalls_total{arbiter="0"}'))).toBe(true);
    expect(value('pspat_arbiter_stalled_seconds_total{arbiter="0"}')).toBeGreaterThanOrEqual(0);
    // Exported as a count; when it yields is test/arbiter-placement.test.ts's.
    expect(Number.isInteger(value('pspat_arbiter_yields_total{arbiter="0"}'))).toBe(true);
    // The kernel's counts for the arbiter thread: a time and a count, since it started.
    expect(value('pspat_arbiter_run_delay_seconds_total{arbiter="0"}')).toBeGreaterThanOrEqual(0);
    expect(Number.isInteger(value('pspat_arbiter_preemptions_total{arbiter="0"}'))).toBe(true);
    expect(value('pspat_arbiter_batch_packets_count{arbiter="0"}')).toBeGreaterThanOrEqual(1);
    expect(value('pspat_arbiter_pass_seconds_count{arbiter="0"}')).toBeGreaterThanOrEqual(1);
    expect(value('pspat_process_resident_memory_bytes')).toBeGreaterThan(0);
    expect((await fetch(url.replace('/metrics', '/other'))).status).toBe(404);
  });

  it('pspat stats prints the percentiles; --save writes RUN.json that pspat report reads', async () => {
    const table = await withDaemon(['stats']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^daemon obs0\s+obs0 1:10\s+mailbox\s+\d+/m);
    expect(table.stdout).toMatch(/^daemon obs0\s+obs0 1:20\s+queue\s+\d+/m);
    const file = join(dir, 'stats.json');
    expect((await withDaemon(['stats', '--save', file])).code).toBe(0);
    const run = readRunFile(file).runs[0];
    expect(run.kind).toBe('daemon');
    // 50 Mbit/s leaves the arbiter idle between packets: parked, its clients ring it awake, and it says
    // how fast it ran; on a host of 4 CPUs or more it has a CPU of its own and polls, never parking.
    const c = run.counters!;
    if (c['arbiter0.polls'] === 0) expect(c['arbiter0.wakes']).toBeGreaterThan(0);
    else expect(c['arbiter0.wakes']).toBe(0);
    expect(c['arbiter0.wakeMaxNs']).toBeGreaterThanOrEqual(c['arbiter0.wakeP99Ns']);
    expect(Number.isInteger(c['arbiter0.stalls'])).toBe(true);
    expect(Number.isInteger(c['arbiter0.preemptions']) && c['arbiter0.runDelayNs'] >= 0, JSON.stringify(c)).toBe(true);
    expect(Number.isInteger(c['arbiter0.yields']), JSON.stringify(c)).toBe(true);
    const c10 = run.classes.find((c) => c.id === 'obs0 1:10')!;
    expect(Object.keys(c10.stages)).toEqual(['mailbox', 'queue', 'tx']);
    // One snapshot: every packet the class sent was timed at completion.
    expect(c10.stages.tx!.count).toBe(c10.counters.sentPackets);
    const rep = await pspat(['report', file, '--format', 'csv']);
    expect(rep.stdout).toMatch(/^daemon obs0,obs0 1:10,queue,\d+,/m);
  });

  it('SIGUSR1 writes RUN.json to the --save file and keeps running', async () => {
    d.child.kill('SIGUSR1');
    // The file is written before the line that says so reaches the log: wait for the line.
    for (let i = 0; i < 50 && !d.log().includes(`SIGUSR1: wrote ${usr1File}`); i++) await sleep(100);
    expect(d.log()).toContain(`SIGUSR1: wrote ${usr1File}`);
    expect(JSON.parse(readFileSync(usr1File, 'utf8')).runs[0].classes.map((c: { id: string }) => c.id)).toEqual(['obs0 1:10', 'obs0 1:20', 'obs0 1: direct']);
    expect((await withDaemon(['tc', 'qdisc', 'show', 'dev', 'obs0'])).code).toBe(0);
  });

  it('a bad --metrics address is one line and exit 1', async () => {
    const r = await pspat(['daemon', '--run-dir', join(dir, 'run2'), '--metrics', 'localhost']);
    expect([r.code, r.stderr]).toEqual([1, "pspat: metrics: expected HOST:PORT (e.g. 127.0.0.1:9932), got 'localhost'\n"]);
  });
});
