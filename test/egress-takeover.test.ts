/**
 * Egress takeover end to end: a host namespace routes three "VM" namespaces to an uplink
 * veth whose far end is a sink namespace. The daemon runs in the host namespace; `pspat
 * tc` puts an htb on the uplink with a rate per VM (u32 filters on source address). The
 * VMs' unmodified sockets — UDP from two, one TCP connection from the third — are
 * diverted, scheduled and sent by pspat. The test checks the per-VM rates at the sink,
 * that every datagram is accounted for (sent by pspat and received, or dropped by pspat
 * with a reason), that `qdisc del` gives the uplink back exactly as it was, and what
 * happens while the daemon is not there (src/attach/divert.ts): the uplink fails open
 * within 50 ms of a SIGKILL or SIGSTOP (its traffic flows unshaped on the kernel's path),
 * is shaped again as soon as a daemon runs again, and with `--fail closed` stays diverted.
 * The first test captures as the daemon does by default (rings, the capture pair for what
 * they cannot carry), the fail-open ones by XDP alone and by packet sockets.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVmTopology, UPLINK, vmAddress, type VmTopology } from '../src/testbed/vm-topology.js';
import { readRunFile, type Run, type RunClass } from '../src/report/run-file.js';
import { tryNativeAddon } from '../src/transmit/native.js';
import { pspat, PSPAT_BIN } from './helpers/cli.js';
import { skipWithoutNet } from './helpers/netns.js';
import { benchScript, lines, sendUdp as sendUdpFrom, startSink as startSinkIn, type Mark } from './helpers/vm-traffic.js';

const skip = skipWithoutNet() || tryNativeAddon() === null;
const UP = UPLINK;
/** Mbit/s per VM (rate = ceil): VM 1 and 2 send UDP at 1.5× that, VM 3 one TCP connection. */
const RATES = [5, 10, 15];
const WINDOW_MS = 2000;
const runDir = join(mkdtempSync(join(tmpdir(), 'pspat-egress-')), 'run');
let topo: VmTopology;
let HOST = '';
let SINK = '';
let VMS: string[] = [];

/** `pspat recover` in the host namespace: whatever a daemon that is gone left attached is given back. */
const recover = () => execFileSync('ip', ['netns', 'exec', HOST, process.execPath, PSPAT_BIN, 'recover', '--run-dir', runDir], { stdio: 'ignore' });

const tc = (line: string) => {
  process.env.PSPAT_RUN_DIR = runDir;
  return pspat(['tc', ...line.split(' ')]);
};

/** What attaching must leave exactly as it found: the uplink's qdiscs, egress filters, offloads (never touched). */
function uplinkState(): string {
  const offloads = topo
    .inHost('ethtool', '-k', UP)
    .split('\n')
    .filter((l) => /^(tx-checksumming|tcp-segmentation-offload|generic-segmentation-offload):/.test(l));
  return [topo.inHost('tc', 'qdisc', 'show', 'dev', UP), topo.inHost('tc', 'filter', 'show', 'dev', UP, 'egress'), ...offloads].join('\n');
}

/** `pspat daemon` inside the host namespace; resolves once it listens. */
function startDaemon(...args: string[]): Promise<{ child: ChildProcess; log: () => string }> {
  const child = spawn(
    'ip',
    [
      'netns',
      'exec',
      HOST,
      process.execPath,
      PSPAT_BIN,
      'daemon',
      '--run-dir',
      runDir,
      '--backend',
      'afxdp',
      '--rate',
      `${UP}=100mbit`,
      '--capture-threads',
      '2',
      ...args,
    ],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
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

/** An htb per VM on the uplink: VM k's class 1:k0 at RATES[k-1] Mbit/s (rate = ceil). */
const SCRIPT = [
  `qdisc add dev ${UP} root handle 1: htb`,
  `class add dev ${UP} parent 1: classid 1:1 htb rate 30mbit`,
  ...RATES.map((r, i) => `class add dev ${UP} parent 1:1 classid 1:${i + 1}0 htb rate ${r}mbit ceil ${r}mbit`),
  ...RATES.map((_, i) => `filter add dev ${UP} protocol ip parent 1: prio 1 u32 match ip src 10.1.${i + 1}.0/24 flowid 1:${i + 1}0`),
];
/** The same as a daemon configuration: a restarted daemon shapes the uplink at once. */
const CONFIG = join(mkdtempSync(join(tmpdir(), 'pspat-egress-config-')), 'pspat.json');
writeFileSync(CONFIG, JSON.stringify({ version: 1, devices: { [UP]: SCRIPT } }));
const DIVERTED = /name pspat_divert/;

/** VM 1's steady load in the fail-open tests: 80% of its class rate, small datagrams (a fine-grained count of what is lost). */
const STEADY_SIZE = 100;
const STEADY_MBIT = RATES[0] * 0.8;
const STEADY_PPS = (STEADY_MBIT * 1e6) / 8 / (STEADY_SIZE + 42);

/** UDP from VM `i` (0-based) to the sink; resolves to the datagrams its kernel accepted. */
const sendUdp = (i: number, mbit: number, size: number, seconds: number) => sendUdpFrom(VMS[i], mbit, size, seconds);
const startSink = () => startSinkIn(SINK);

describe.skipIf(skip)('egress takeover: unmodified VMs scheduled by pspat on their uplink', () => {
  let before = '';
  beforeAll(() => {
    topo = createVmTopology('eg', 3);
    [HOST, SINK, VMS] = [topo.host, topo.sink, topo.vms];
    before = uplinkState();
  });
  afterAll(() => {
    try {
      recover();
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
      for (const line of SCRIPT) expect((await tc(line)).code, line).toBe(0);
      expect(uplinkState()).toMatch(DIVERTED); // taken over
      expect(daemon.log()).toContain(`${UP}: capture by ring in the sender (super-packets by XDP), 2 threads`);

      const seconds = 5;
      const vms = VMS.map((vm, i) =>
        spawn(
          'ip',
          [
            'netns',
            'exec',
            vm,
            process.execPath,
            benchScript('vm-traffic'),
            i < 2 ? 'udp' : 'tcp',
            '10.9.0.2',
            i < 2 ? '5001' : '5002',
            String(RATES[i] * 1.5),
            '1000',
            String(seconds),
          ],
          {
            stdio: ['ignore', 'pipe', 'inherit'],
          },
        ),
      );
      const results = vms.map((c) => lines(c)());
      // Queues fill and TCP finds its rate, then one window.
      await sleep(1500);
      sink.stdin!.write('mark\n');
      const m0 = JSON.parse(await next()) as Mark;
      await sleep(WINDOW_MS);
      sink.stdin!.write('mark\n');
      const m1 = JSON.parse(await next()) as Mark;
      const rate = (k: number, field: 'udpBytes' | 'tcpBytes') =>
        ((m1.sources[`10.1.${k}.2`][field] - m0.sources[`10.1.${k}.2`][field]) * 8) / ((m1.t - m0.t) * 1e3);
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
      const direct = spawn('ip', ['netns', 'exec', VMS[0], process.execPath, benchScript('vm-traffic'), 'udp', '10.9.0.2', '5001', '20', '1000', '1'], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
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

  it('XDP capture: fails open at once after a SIGKILL, unshaped; a restarted daemon gives the uplink back and shapes it from its first moment', async () => {
    const first = await startDaemon('--config', CONFIG, '--capture', 'xdp');
    const sink = startSink();
    const senders: Promise<number>[] = [];
    try {
      expect(await sink.next()).toBe('ready');
      expect(first.log()).toContain(`${UP}: capture by XDP into the frame pool, 2 threads`);
      const vm1 = sendUdp(0, STEADY_MBIT, STEADY_SIZE, 4);
      // Long enough to run on through the restart below (a loaded machine's daemon start included).
      const vm2 = sendUdp(1, RATES[1] * 1.5, 1000, 12);
      senders.push(vm1, vm2);
      await sleep(1000);
      const shaped = await sink.window(700);
      expect(Math.abs(shaped.mbit(2) / RATES[1] - 1), `VM 2 shaped: ${shaped.mbit(2)} Mbit/s`).toBeLessThan(0.03);
      await stopped(first.child, 'SIGKILL');
      await sleep(300);
      const open = await sink.window(700);
      // Nobody stamps the heartbeat: the program lets VM 2's traffic through at its own 15 Mbit/s.
      expect(open.mbit(2) / RATES[1], `VM 2 after the kill: ${open.mbit(2)} Mbit/s`).toBeGreaterThan(1.3);
      expect(uplinkState()).toMatch(DIVERTED); // the program stays, failing open
      const sent1 = await vm1;
      await sleep(300);
      const lost = sent1 - (await sink.mark()).sources[vmAddress(1)].udpPackets;
      // VM 1 sends below its rate (pspat queues nothing of it): what it lost is what it sent
      // between the kill and the fall-back (≤ CHECK_NS, 15 ms: 45–53 packets quiet), and what
      // the capture threads still held in their XDP rings, which dies with them — on a loaded
      // CI machine 193 packets (55 ms) once. So the bound is 100 ms of its packets.
      expect(lost, `VM 1 lost ${lost} of ${sent1}`).toBeLessThan(0.1 * STEADY_PPS);

      const startedAt = performance.now();
      const second = await startDaemon('--config', CONFIG);
      const startMs = performance.now() - startedAt;
      try {
        expect(second.log()).toContain(`gave back ${UP}, left attached by a daemon that is gone`);
        const again = await sink.window(1000);
        // Its first second holds the new daemon's start-up: compiling its loop, its first
        // collections, and the forks that take the device over (tc, ip, ethtool), each of which
        // stalls every thread of the process; time the class did not use is not credit. Up to
        // 5.1% short measured on this 2-CPU machine, while unshaped would be 50% over.
        expect(
          Math.abs(again.mbit(2) / RATES[1] - 1),
          `VM 2 in the restarted daemon's first second: ${again.mbit(2)} Mbit/s (start took ${startMs.toFixed(0)} ms)`,
        ).toBeLessThan(0.1);
        await vm2;
        expect((await tc(`qdisc del dev ${UP} root`)).code).toBe(0);
        expect(uplinkState()).toBe(before);
      } finally {
        expect(await stopped(second.child, 'SIGTERM')).toBe(0);
        // Given back even when an assertion above failed first: the next test must find the uplink as it was.
        recover();
      }
    } finally {
      sink.quit();
      // The senders run out their time even when an assertion stopped the test early: the
      // next test must not count this one's VM 2 traffic as its own.
      await Promise.allSettled(senders);
    }
  }, 60_000);

  it('packet-socket capture: fails open while the daemon is stopped and is shaped again on SIGCONT; every packet pspat took is accounted for', async () => {
    const daemon = await startDaemon('--config', CONFIG, '--capture', 'packet');
    const sink = startSink();
    try {
      expect(await sink.next()).toBe('ready');
      expect(daemon.log()).toContain(`${UP}: capture by packet socket, 2 threads`);
      const start = await sink.mark();
      const vm1 = sendUdp(0, STEADY_MBIT, STEADY_SIZE, 5);
      const vm2 = sendUdp(1, RATES[1] * 1.5, 1000, 5);
      await sleep(1000);
      daemon.child.kill('SIGSTOP');
      await sleep(300);
      const open = await sink.window(1000);
      expect(open.mbit(2) / RATES[1], `VM 2 while stopped: ${open.mbit(2)} Mbit/s`).toBeGreaterThan(1.3);
      expect(open.packets(1) / (STEADY_PPS * open.seconds), `VM 1 while stopped: ${open.packets(1)} packets`).toBeGreaterThan(0.9);
      daemon.child.kill('SIGCONT');
      await sleep(500);
      const shaped = await sink.window(1000);
      expect(Math.abs(shaped.mbit(2) / RATES[1] - 1), `VM 2 after SIGCONT: ${shaped.mbit(2)} Mbit/s`).toBeLessThan(0.03);
      const sent = await Promise.all([vm1, vm2]);

      const stats = join(runDir, '..', 'stats-stop.json');
      let run!: Run;
      for (let i = 0; i < 50; i++) {
        expect((await pspat(['stats', '--save', stats])).code).toBe(0);
        run = readRunFile(stats).runs[0];
        if (run.classes.every((c) => c.counters.backlogPackets === 0)) break;
        await sleep(100);
      }
      await sleep(300);
      const end = await sink.mark();
      expect([run.counters.captureDrops, run.counters.oversize]).toEqual([0, 0]);
      const got = (k: number) => end.sources[vmAddress(k)].udpPackets - (start.sources[vmAddress(k)]?.udpPackets ?? 0);
      const cls = (k: number) => run.classes.find((x) => x.id === `${UP} 1:${k}0`)!.counters;
      // Sent by pspat or by the kernel while pspat was stopped (bypassed); or dropped by pspat, counted.
      expect(got(1) + got(2), 'sink = pspat sent + bypassed').toBe(cls(1).sentPackets + cls(2).sentPackets + run.counters.bypassed);
      expect(run.counters.bypassed).toBeGreaterThan(0);
      for (const k of [1, 2]) expect(sent[k - 1], `VM ${k}: sent = received + pspat dropped`).toBe(got(k) + cls(k).droppedPackets);
      expect(cls(1).droppedPackets).toBe(0); // below its rate
    } finally {
      sink.quit();
      daemon.child.kill('SIGCONT');
      expect(await stopped(daemon.child, 'SIGTERM')).toBe(0);
    }
    expect(uplinkState()).toBe(before);
  }, 60_000);

  it('--fail closed: a SIGKILLed daemon leaves the uplink diverted, its IP traffic lost; the next start gives it back', async () => {
    const first = await startDaemon('--config', CONFIG, '--fail', 'closed');
    const sink = startSink();
    try {
      expect(await sink.next()).toBe('ready');
      const vm1 = sendUdp(0, STEADY_MBIT, STEADY_SIZE, 2);
      await sleep(500);
      await stopped(first.child, 'SIGKILL');
      await sleep(200);
      const closed = await sink.window(700);
      expect(closed.packets(1)).toBe(0);
      expect(uplinkState()).toMatch(DIVERTED);
      await vm1;
    } finally {
      sink.quit();
    }
    const second = await startDaemon();
    try {
      expect(second.log()).toContain(`gave back ${UP}, left attached by a daemon that is gone`);
      expect(uplinkState()).toBe(before);
      // The capture namespace of the host namespace's devices goes with its last pair (its name with it).
      expect(existsSync(`/run/netns/pspat-capture-${statSync(`/run/netns/${HOST}`).ino}`)).toBe(false);
    } finally {
      expect(await stopped(second.child, 'SIGTERM')).toBe(0);
    }
  }, 60_000);
});
