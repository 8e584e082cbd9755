/**
 * Egress takeover end to end: a host namespace routes three "VM" namespaces to an uplink
 * veth whose far end is a sink namespace. The daemon runs in the host namespace; `pspat
 * tc` puts an htb on the uplink with a rate per VM (u32 filters on source address). The
 * VMs' unmodified sockets — UDP from two, one TCP connection from the third — are
 * diverted, scheduled and sent by pspat. The test checks the per-VM rates at the sink,
 * that every datagram is accounted for (sent by pspat and received, or dropped by pspat
 * with a reason), that `qdisc del` gives the uplink back exactly as it was, and that a
 * SIGKILLed daemon's attachment is undone by the next start.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CAPTURE_NETNS } from '../src/attach/attach.js';
import { createVmTopology, UPLINK, type VmTopology } from '../src/net/vm-topology.js';
import { readRunFile, type RunClass } from '../src/report/run-file.js';
import { tryNativeAddon } from '../src/transmit/native.js';
import { pspat, PSPAT_BIN } from './helpers/cli.js';
import { skipWithoutNet } from './helpers/netns.js';

const skip = skipWithoutNet() || tryNativeAddon() === null;
const benchScript = (name: string) => fileURLToPath(new URL(`../dist/src/bench/${name}.js`, import.meta.url));
const UP = UPLINK;
/** Mbit/s per VM (rate = ceil): VM 1 and 2 send UDP at 1.5× that, VM 3 one TCP connection. */
const RATES = [5, 10, 15];
const WINDOW_MS = 2000;
const runDir = join(mkdtempSync(join(tmpdir(), 'pspat-egress-')), 'run');
let topo: VmTopology;
let HOST = '';
let SINK = '';
let VMS: string[] = [];

const tc = (line: string) => {
  process.env.PSPAT_RUN_DIR = runDir;
  return pspat(['tc', ...line.split(' ')]);
};

/** What attaching must leave exactly as it found: the uplink's qdiscs, egress filters, offloads (never touched). */
function uplinkState(): string {
  const offloads = topo.inHost('ethtool', '-k', UP).split('\n').filter((l) => /^(tx-checksumming|tcp-segmentation-offload|generic-segmentation-offload):/.test(l));
  return [topo.inHost('tc', 'qdisc', 'show', 'dev', UP), topo.inHost('tc', 'filter', 'show', 'dev', UP, 'egress'), ...offloads].join('\n');
}

/** `pspat daemon` inside the host namespace; resolves once it listens. */
function startDaemon(): Promise<{ child: ChildProcess; log: () => string }> {
  const child = spawn('ip', ['netns', 'exec', HOST, process.execPath, PSPAT_BIN, 'daemon', '--run-dir', runDir, '--backend', 'afxdp', '--rate', `${UP}=100mbit`, '--capture-threads', '2'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  return new Promise((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      log += d.toString();
      if (log.includes('listening on')) resolve({ child, log: () => log });
    });
    child.once('exit', (code) => reject(new Error(`daemon exited with ${code}: ${log}`)));
  });
}

function stopped(child: ChildProcess, signal: NodeJS.Signals): Promise<number> {
  return new Promise((resolve) => {
    child.once('exit', (code, sig) => resolve(code ?? (sig ? 128 : 1)));
    child.kill(signal);
  });
}

/** Output lines of a helper process, one promise per line asked for. */
function lines(child: ChildProcess): () => Promise<string> {
  const queue: string[] = [];
  const waiting: ((l: string) => void)[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => (waiting.length > 0 ? waiting.shift()!(l) : queue.push(l)));
  return () => (queue.length > 0 ? Promise.resolve(queue.shift()!) : new Promise((resolve) => waiting.push(resolve)));
}

interface Mark {
  t: number;
  sources: Record<string, { udpPackets: number; udpBytes: number; tcpBytes: number }>;
}

describe.skipIf(skip)('egress takeover: unmodified VMs scheduled by pspat on their uplink', () => {
  let before = '';
  beforeAll(() => {
    topo = createVmTopology('eg', 3);
    [HOST, SINK, VMS] = [topo.host, topo.sink, topo.vms];
    before = uplinkState();
  });
  afterAll(() => {
    try {
      execFileSync('ip', ['netns', 'exec', HOST, process.execPath, PSPAT_BIN, 'recover', '--run-dir', runDir], { stdio: 'ignore' });
    } finally {
      topo?.destroy();
    }
  });

  it('holds each VM to its rate, accounts for every datagram, and gives the uplink back on qdisc del', async () => {
    const daemon = await startDaemon();
    const sink = spawn('ip', ['netns', 'exec', SINK, process.execPath, benchScript('source-sink'), '5001', '5002'], { stdio: ['pipe', 'pipe', 'inherit'] });
    const next = lines(sink);
    try {
      expect(await next()).toBe('ready');
      const script = [
        `qdisc add dev ${UP} root handle 1: htb`,
        `class add dev ${UP} parent 1: classid 1:1 htb rate 30mbit`,
        ...RATES.map((r, i) => `class add dev ${UP} parent 1:1 classid 1:${i + 1}0 htb rate ${r}mbit ceil ${r}mbit`),
        ...RATES.map((_, i) => `filter add dev ${UP} protocol ip parent 1: prio 1 u32 match ip src 10.1.${i + 1}.0/24 flowid 1:${i + 1}0`),
      ];
      for (const line of script) expect((await tc(line)).code, line).toBe(0);
      expect(uplinkState()).toMatch(/mirred \(Egress Redirect to device psc\d+\)/); // taken over

      const seconds = 5;
      const vms = VMS.map((vm, i) =>
        spawn('ip', ['netns', 'exec', vm, process.execPath, benchScript('vm-traffic'), i < 2 ? 'udp' : 'tcp', '10.9.0.2', i < 2 ? '5001' : '5002', String(RATES[i] * 1.5), '1000', String(seconds)], {
          stdio: ['ignore', 'pipe', 'inherit'],
        }),
      );
      const results = vms.map((c) => lines(c)());
      // Queues fill and TCP finds its rate, then one window.
      await sleep(1500);
      sink.stdin!.write('mark\n');
      const m0 = JSON.parse(await next()) as Mark;
      await sleep(WINDOW_MS);
      sink.stdin!.write('mark\n');
      const m1 = JSON.parse(await next()) as Mark;
      const rate = (k: number, field: 'udpBytes' | 'tcpBytes') => ((m1.sources[`10.1.${k}.2`][field] - m0.sources[`10.1.${k}.2`][field]) * 8) / ((m1.t - m0.t) * 1e3);
      expect(Math.abs(rate(1, 'udpBytes') / RATES[0] - 1), `VM 1: ${rate(1, 'udpBytes')} Mbit/s`).toBeLessThan(0.02);
      expect(Math.abs(rate(2, 'udpBytes') / RATES[1] - 1), `VM 2: ${rate(2, 'udpBytes')} Mbit/s`).toBeLessThan(0.02);
      // TCP payload of 1514 B frames (1448 B of data with timestamps) at 15 Mbit/s of frames: full speed.
      const tcpFull = (RATES[2] * 1448) / 1514;
      expect(rate(3, 'tcpBytes') / tcpFull, `VM 3 (TCP): ${rate(3, 'tcpBytes')} Mbit/s of payload`).toBeGreaterThan(0.95);

      const sent = (await Promise.all(results)).map((l) => (JSON.parse(l) as { sent: number }).sent);
      // The queues drain at the classes' rates; then what pspat sent has reached the sink.
      const stats = join(runDir, '..', 'stats.json');
      let classes: RunClass[] = [];
      let totals: Record<string, number> = {};
      for (let i = 0; i < 50; i++) {
        expect((await pspat(['stats', '--save', stats])).code).toBe(0);
        ({ classes, counters: totals } = readRunFile(stats).runs[0]);
        if (classes.every((c) => c.counters.backlogPackets === 0)) break;
        await sleep(100);
      }
      // The capture kept up (nothing lost before pspat could count it per class).
      expect([totals.captureDrops, totals.oversize]).toEqual([0, 0]);
      await sleep(300);
      sink.stdin!.write('mark\n');
      const end = JSON.parse(await next()) as Mark;
      for (const k of [1, 2]) {
        const c = classes.find((x) => x.id === `${UP} 1:${k}0`)!.counters;
        const got = end.sources[`10.1.${k}.2`].udpPackets;
        // Every datagram a VM's kernel accepted reached pspat; pspat sent it (and the sink got
        // exactly those) or dropped it at the class's queue limit, counted.
        expect(c.backlogPackets).toBe(0);
        expect(got, `VM ${k}: sink vs pspat sent`).toBe(c.sentPackets);
        expect(sent[k - 1], `VM ${k}: sent = pspat sent + dropped`).toBe(c.sentPackets + c.droppedPackets);
        expect(c.droppedPackets).toBe(c.queueLimit); // the reason: over its rate, the queue overflowed
        expect(c.droppedPackets).toBeGreaterThan(0);
      }
      expect(end.sources['10.1.3.2'].tcpBytes).toBe(sent[2]); // TCP: every byte written arrived

      expect((await tc(`qdisc del dev ${UP} root`)).code).toBe(0);
      expect(uplinkState()).toBe(before);
      // Given back: traffic flows on the kernel's path again, unscheduled.
      const direct = spawn('ip', ['netns', 'exec', VMS[0], process.execPath, benchScript('vm-traffic'), 'udp', '10.9.0.2', '5001', '20', '1000', '1'], { stdio: ['ignore', 'pipe', 'inherit'] });
      const directSent = (JSON.parse(await lines(direct)()) as { sent: number }).sent;
      await sleep(200);
      sink.stdin!.write('mark\n');
      const after = JSON.parse(await next()) as Mark;
      expect(after.sources['10.1.1.2'].udpPackets - end.sources['10.1.1.2'].udpPackets).toBe(directSent);
    } finally {
      sink.stdin!.write('quit\n');
      expect(await stopped(daemon.child, 'SIGTERM')).toBe(0);
    }
  }, 60_000);

  it('a SIGKILLed daemon leaves the uplink diverted; the next start gives it back', async () => {
    const first = await startDaemon();
    expect((await tc(`qdisc add dev ${UP} root handle 1: htb`)).code).toBe(0);
    expect(uplinkState()).toMatch(/mirred \(Egress Redirect to device psc\d+\)/);
    await stopped(first.child, 'SIGKILL');
    // Nobody undid it: the uplink's egress is still diverted (to a capture pair that may be
    // gone with the dead daemon's namespaces: the traffic is dropped until the next start).
    expect(uplinkState()).toMatch(/mirred \(Egress Redirect to device/);
    const second = await startDaemon();
    try {
      expect(second.log()).toContain(`gave back ${UP}, left attached by a daemon that is gone`);
      expect(uplinkState()).toBe(before);
      // The capture namespace died with the first daemon's mount namespace; its name goes too.
      expect(existsSync(`/run/netns/${CAPTURE_NETNS}`)).toBe(false);
    } finally {
      expect(await stopped(second.child, 'SIGTERM')).toBe(0);
    }
  }, 60_000);
});
