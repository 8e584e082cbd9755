/**
 * The daemon on a real device: a shell script that builds an htb tree with u32 filters
 * through `TC="pspat tc"` gets, at the sink namespace, the rate it configured for each
 * class; a live `class change` takes effect within 100 ms with no packet dropped; a
 * `police` filter holds its flow to the policed rate; and `qdisc del ... root` gives the
 * device back. Traffic: the daemon's test generators, one
 * per UDP port, classified by the device's filters in their own threads.
 */
import { spawn, execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSinkTopology, type SinkTopology } from '../src/testbed/netns.js';
import { PSPAT_BIN, pspat } from './helpers/cli.js';
import { startDaemon, type RunningDaemon } from './helpers/daemon.js';
import { skipWithoutNet } from './helpers/netns.js';

const PORT_SINK = fileURLToPath(new URL('../dist/test/helpers/port-sink.js', import.meta.url));
const PORTS = [5001, 5002, 5003];
/** Mbit/s per port under the script's tree: 1:10 and 1:20 by filter, 1:30 by default. */
const RATES = { 5001: 30, 5002: 20, 5003: 10 };

interface SinkResult {
  startMs: number;
  ports: Record<string, { bytes: number; bins: number[] }>;
}

/** Runs the port sink in the namespace: after `warmupMs` of traffic, counts `windowMs` in `binMs` bins. */
function measure(t: SinkTopology, warmupMs: number, windowMs: number, binMs: number, during?: () => Promise<void>): Promise<SinkResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', t.ns, process.execPath, PORT_SINK, PORTS.join(','), String(warmupMs), String(windowMs), String(binMs)]);
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.startsWith('ready\n') && during) {
        const task = during;
        during = undefined;
        task().catch(reject);
      }
    });
    child.once('exit', () => {
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve(JSON.parse(line) as SinkResult);
      else reject(new Error(`sink printed no result: ${out}`));
    });
  });
}

const mbps = (bytes: number, ms: number) => (bytes * 8) / (ms * 1e3);

describe.skipIf(skipWithoutNet())('pspat daemon on a veth, scripted with TC="pspat tc"', () => {
  let t: SinkTopology;
  let d: RunningDaemon;
  const tc = (...args: string[]) => pspat(['tc', ...args]);

  beforeAll(async () => {
    t = createSinkTopology('tcd');
    d = await startDaemon(['--backend', 'afxdp', '--xdp-mode', 'copy', '--rate', `${t.dev}=100mbit`, '--test-traffic', `${t.dev}=${PORTS.join(',')}/1000`]);
    process.env.PSPAT_RUN_DIR = d.runDir;
  });
  afterAll(async () => {
    try {
      if (d) expect(await d.stop()).toBe(0);
    } finally {
      t?.destroy();
    }
  });

  it('a shell script builds the tree; the sink sees each class at its rate within 2%', async () => {
    const script = join(dirname(d.runDir), 'shape.sh');
    writeFileSync(
      script,
      [
        'set -e',
        'DEV=$1',
        '$TC qdisc add dev $DEV root handle 1: htb default 30',
        '$TC class add dev $DEV parent 1: classid 1:1 htb rate 100mbit',
        '$TC class add dev $DEV parent 1:1 classid 1:10 estimator 1sec 4sec htb rate 30mbit',
        '$TC class add dev $DEV parent 1:1 classid 1:20 htb rate 20mbit',
        '$TC class add dev $DEV parent 1:1 classid 1:30 htb rate 10mbit',
        '$TC filter add dev $DEV protocol ip parent 1: prio 1 u32 match ip dport 5001 0xffff flowid 1:10',
        '$TC filter add dev $DEV protocol ip parent 1: prio 1 u32 match ip dport 5002 0xffff flowid 1:20',
        '',
      ].join('\n'),
    );
    execFileSync('bash', [script, t.dev], { env: { ...process.env, TC: `${process.execPath} ${PSPAT_BIN} tc` } });
    // Until the filters were in, every port went to the default class 1:30; its queue of
    // up to 1000 packets drains at 10 Mbit/s in 0.8 s. Measure after that.
    const r = await measure(t, 1500, 3000, 100);
    for (const port of PORTS) {
      const got = mbps(r.ports[port].bytes, 3000);
      expect(Math.abs(got / RATES[port as keyof typeof RATES] - 1), `port ${port}: ${got} Mbit/s`).toBeLessThan(0.02);
    }
  });

  it("-s prints the rate line of a class given an estimator, from the daemon's estimator, which settles on the class's rate", async () => {
    // The estimator averages 1 s samples with a ~4 s time constant: poll until it settles.
    let s = '';
    let bps = 0;
    let pps = 0;
    for (let tries = 0; tries < 12 && Math.abs(bps / 30e6 - 1) >= 0.03; tries++) {
      if (tries > 0) await sleep(1000);
      s = (await tc('-s', 'class', 'show', 'dev', t.dev, 'classid', '1:10')).stdout;
      const m = / rate (\d+)(K|M)bit (\d+)pps backlog /.exec(s);
      expect(m, s).not.toBeNull();
      bps = Number(m![1]) * (m![2] === 'M' ? 1e6 : 1e3);
      pps = Number(m![3]);
    }
    expect(Math.abs(bps / 30e6 - 1), s).toBeLessThan(0.03);
    expect(Math.abs(pps / (30e6 / 8 / 1000) - 1), s).toBeLessThan(0.03); // 1000 B packets
  });

  it('a live class change takes effect within 100 ms and drops nothing', async () => {
    let returnedAt = 0;
    const r = await measure(t, 0, 2000, 50, async () => {
      await sleep(800);
      const c = await tc('class', 'change', 'dev', t.dev, 'parent', '1:1', 'classid', '1:10', 'htb', 'rate', '5mbit');
      expect(c.code).toBe(0);
      returnedAt = Date.now();
    });
    const bins = r.ports[5001].bins.map((b) => mbps(b, 50));
    // Before the change: 30 Mbit/s; from the first bin after it: 5 Mbit/s. A 50 ms bin at
    // 5 Mbit/s is ~31 packets, and the sink's receive timing moves a few across bin edges:
    // each bin within 25%, their mean within 3%.
    const before = bins.slice(2, 14); // 100–700 ms: the change is sent at 800 ms
    expect(Math.abs(before.reduce((a, b) => a + b, 0) / before.length / 30 - 1)).toBeLessThan(0.03);
    const first = bins.findIndex((b, k) => k > 2 && Math.abs(b / 5 - 1) < 0.25);
    expect(first).toBeGreaterThan(0);
    expect(r.startMs + 50 * first - returnedAt).toBeLessThanOrEqual(100);
    const after = bins.slice(first + 1);
    for (const b of after) expect(Math.abs(b / 5 - 1)).toBeLessThan(0.25);
    expect(Math.abs(after.reduce((a, b) => a + b, 0) / after.length / 5 - 1)).toBeLessThan(0.03);
    const s = (await tc('-s', 'class', 'show', 'dev', t.dev, 'classid', '1:10')).stdout;
    expect(s).toMatch(/rate 5Mbit ceil 5Mbit/);
    expect(s).toMatch(/\(dropped 0, /);
  });

  it('a change the running scheduler refuses (a child under a backlogged leaf) changes nothing, and the next one works', async () => {
    const before = (await tc('class', 'show', 'dev', t.dev)).stdout;
    const r = await tc('class', 'add', 'dev', t.dev, 'parent', '1:10', 'classid', '1:11', 'htb', 'rate', '1mbit');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^Error: parent: class slot \d+ has \d+ queued packets and cannot become a parent\n$/);
    expect((await tc('class', 'show', 'dev', t.dev)).stdout).toBe(before);
    // The daemon's shadow of the scheduler was rolled back with it: a later change applies.
    expect((await tc('class', 'change', 'dev', t.dev, 'parent', '1:1', 'classid', '1:10', 'htb', 'rate', '30mbit')).code).toBe(0);
    expect((await tc('class', 'show', 'dev', t.dev, 'classid', '1:10')).stdout).toContain('rate 30Mbit ceil 30Mbit');
  });

  it('a police filter holds its flow to the policed rate; the excess is counted as dropped', async () => {
    const police = await tc(
      'filter',
      'add',
      'dev',
      t.dev,
      'protocol',
      'ip',
      'parent',
      '1:',
      'prio',
      '0',
      'u32',
      'match',
      'ip',
      'dport',
      '5002',
      '0xffff',
      'police',
      'rate',
      '5mbit',
      'burst',
      '10k',
      'drop',
      'flowid',
      '1:20',
    );
    expect(police.code).toBe(0);
    const r = await measure(t, 500, 3000, 100);
    const got = mbps(r.ports[5002].bytes, 3000);
    expect(Math.abs(got / 5 - 1), `${got} Mbit/s`).toBeLessThan(0.02);
    expect((await tc('-s', 'class', 'show', 'dev', t.dev, 'classid', '1:20')).stdout).not.toMatch(/\(dropped 0, /);
    // The generator resends what the policer drops at full speed: take the filter off again.
    expect((await tc('filter', 'del', 'dev', t.dev, 'parent', '1:', 'prio', '0')).code).toBe(0);
  });

  it("a tbf inside a class holds that class to the tbf's rate (an inner shaper sleeps and wakes its class)", async () => {
    expect((await tc('qdisc', 'add', 'dev', t.dev, 'parent', '1:30', 'handle', '30:', 'tbf', 'rate', '3mbit', 'burst', '10k', 'latency', '50ms')).code).toBe(0);
    const r = await measure(t, 1000, 3000, 100);
    const got = mbps(r.ports[5003].bytes, 3000);
    expect(Math.abs(got / 3 - 1), `${got} Mbit/s`).toBeLessThan(0.02);
  });

  it('a prio inside a class counts its own classes under -s', async () => {
    expect((await tc('qdisc', 'replace', 'dev', t.dev, 'parent', '1:30', 'handle', '30:', 'prio')).code).toBe(0);
    // The packets the tbf held move into the new prio unclassified (band 0, 30:1) and drain
    // first; what the generator sends from then on is classified by the prio's priomap.
    await sleep(1500);
    // Port 5003's packets carry TOS 0: priority 0, band 1 by the default priomap (class 30:2).
    const s = (await tc('-s', 'class', 'show', 'dev', t.dev, 'classid', '30:2')).stdout;
    expect(s).toMatch(/^class prio 30:2 parent 30: \n Sent [1-9]\d* bytes [1-9]\d* pkt /);
    expect((await tc('-s', 'class', 'show', 'dev', t.dev, 'classid', '30:3')).stdout).toMatch(/ Sent 0 bytes 0 pkt /);
  });

  it('a device that does not exist is refused as tc refuses it, and nothing changes', async () => {
    const r = await tc('qdisc', 'add', 'dev', 'nosuchdev0', 'root', 'handle', '1:', 'htb');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('Cannot find device "nosuchdev0"\n');
    expect((await tc('-j', 'qdisc', 'show')).stdout).not.toContain('nosuchdev0');
  });

  it('qdisc del root gives the device back to the kernel', async () => {
    expect((await tc('qdisc', 'del', 'dev', t.dev, 'root')).code).toBe(0);
    const shown = await tc('qdisc', 'show', 'dev', t.dev);
    expect(shown.stdout).toBe(execFileSync('tc', ['qdisc', 'show', 'dev', t.dev]).toString());
    expect(shown.stdout).not.toContain('htb');
    const before = execFileSync('ip', ['-n', t.ns, '-s', '-j', 'link', 'show', t.peer], { encoding: 'utf8' });
    await sleep(300);
    const after = execFileSync('ip', ['-n', t.ns, '-s', '-j', 'link', 'show', t.peer], { encoding: 'utf8' });
    // The generators sent thousands of packets per 300 ms; now nothing leaves (the near end sends nothing of its own).
    expect(JSON.parse(after)[0].stats64.rx.packets - JSON.parse(before)[0].stats64.rx.packets).toBe(0);
  });
});
