/**
 * Extreme parameters through the whole path (issue #8's list; the kernel's QFQ has had
 * crashes on exactly these): each is refused by a live daemon with tc's exit status and
 * one line naming the field, leaving the configuration exactly as it was, or accepted and
 * then scheduled correctly — traffic flows through it and, at the end, every packet is
 * accounted for. The null backend needs no device or privileges.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGenerators } from '../traffic/generators.js';
import { ArbiterHost } from '../src/arbiter/host.js';
import { pspat } from './helpers/cli.js';
import { startDaemon, type RunningDaemon } from './helpers/daemon.js';

const DEV = 'xtreme0';

interface Row {
  what: string;
  /** Commands that build what the row's command applies to (all must succeed). */
  setup: string[];
  cmd: string;
  /** Run once `cmd` was accepted (a filter to the new class). */
  after?: string[];
  /** Refused with this exit status and stderr; or accepted, with `show` printing this. */
  expect: { code: number; stderr: string } | { shows: string };
}

/** Sends the test traffic (UDP port 5001) to class 1:1 of a qdisc without a default class (once 1:1 exists). */
const TO_1_1 = 'filter add dev DEV parent 1: protocol ip prio 1 u32 match ip dport 5001 0xffff flowid 1:1';

const QFQ = 'qdisc add dev DEV root handle 1: qfq';
const DRR = 'qdisc add dev DEV root handle 1: drr';
const HTB = 'qdisc add dev DEV root handle 1: htb default 1';
const qfqClass = (args: string) => `class add dev DEV parent 1: classid 1:1 qfq ${args}`;
const drrClass = (args: string) => `class add dev DEV parent 1: classid 1:1 drr ${args}`;
const htbClass = (args: string) => `class add dev DEV parent 1: classid 1:1 htb ${args}`;
/** An htb whose default is class 1:n, and classes 1:1 … 1:n-1, each the child of the one before: traffic waits for the leaf. */
const htbChain = (n: number) => [
  `qdisc add dev DEV root handle 1: htb default ${n}`,
  ...Array.from({ length: n - 1 }, (_, i) => `class add dev DEV parent 1:${i === 0 ? '' : i} classid 1:${i + 1} htb rate ${100 - i}mbit`),
];
const refused = (code: number, stderr: string) => ({ code, stderr: `${stderr}\n` });

const ROWS: Row[] = [
  { what: 'qfq weight 0', setup: [QFQ], cmd: qfqClass('weight 0'), expect: refused(1, 'Illegal "weight"') },
  { what: 'qfq weight 1', setup: [QFQ], cmd: qfqClass('weight 1'), after: [TO_1_1], expect: { shows: 'class qfq 1:1 root weight 1 maxpkt 1514' } },
  { what: 'qfq weight 1024 (the kernel’s largest)', setup: [QFQ], cmd: qfqClass('weight 1024'), after: [TO_1_1], expect: { shows: 'weight 1024' } },
  { what: 'qfq weight 1025', setup: [QFQ], cmd: qfqClass('weight 1025'), expect: refused(2, 'Error: weight: must be an integer in [1, 1024], got 1025') },
  {
    what: 'qfq weight 2^31',
    setup: [QFQ],
    cmd: qfqClass('weight 2147483648'),
    expect: refused(2, 'Error: weight: must be an integer in [1, 1024], got 2147483648'),
  },
  { what: 'qfq weight 2^32 (not a u32)', setup: [QFQ], cmd: qfqClass('weight 4294967296'), expect: refused(1, 'Illegal "weight"') },
  {
    what: 'qfq maxpkt 511',
    setup: [QFQ],
    cmd: qfqClass('weight 1 maxpkt 511'),
    expect: refused(2, 'Error: maxpkt: must be an integer in [512, 65536] bytes, got 511'),
  },
  {
    what: 'qfq maxpkt 65537',
    setup: [QFQ],
    cmd: qfqClass('weight 1 maxpkt 65537'),
    expect: refused(2, 'Error: maxpkt: must be an integer in [512, 65536] bytes, got 65537'),
  },
  {
    what: 'qfq maxpkt 65536, above the 2048 B frame',
    setup: [QFQ],
    cmd: qfqClass('weight 1 maxpkt 65536'),
    after: [TO_1_1],
    expect: { shows: 'maxpkt 65536' },
  },
  { what: 'drr quantum 0', setup: [DRR], cmd: drrClass('quantum 0'), expect: refused(2, 'Error: quantum: must be an integer in [1, 4294967295] bytes, got 0') },
  {
    what: 'drr quantum 2^32',
    setup: [DRR],
    cmd: drrClass('quantum 4294967296'),
    expect: refused(2, 'Error: quantum: must be an integer in [1, 4294967295] bytes, got 4294967296'),
  },
  { what: 'drr quantum 2^32-1', setup: [DRR], cmd: drrClass('quantum 4294967295'), after: [TO_1_1], expect: { shows: 'class drr 1:1 root quantum 4096Mb' } },
  { what: 'htb rate 0', setup: [HTB], cmd: htbClass('rate 0'), expect: refused(1, 'Illegal "rate"') },
  {
    what: 'htb quantum 0',
    setup: [HTB],
    cmd: htbClass('rate 1mbit quantum 0'),
    expect: refused(2, 'Error: quantum: must be an integer in [1, 4294967295] bytes, got 0'),
  },
  {
    what: 'htb rate 4294967295kbps (libvirt’s “unlimited”, 34 Tbit/s)',
    setup: [HTB],
    cmd: htbClass('rate 4294967295kbps'),
    expect: { shows: 'rate 34359Gbit ceil 34359Gbit' },
  },
  {
    what: 'htb rate 2^64-1 bit/s (above pspat’s 1 Pbit/s)',
    setup: [HTB],
    cmd: htbClass('rate 18446744073709551615bit'),
    expect: refused(2, 'Error: rate: must be a rate in (0, 1000000000000000] bit/s, got 18446744073709552000'),
  },
  {
    what: 'tbf rate 4294967295kbps',
    setup: [],
    cmd: 'qdisc add dev DEV root tbf rate 4294967295kbps burst 10kb latency 50ms',
    expect: { shows: 'rate 34359Gbit' },
  },
  {
    what: 'htb 8 levels (the kernel’s depth)',
    setup: htbChain(8),
    cmd: 'class add dev DEV parent 1:7 classid 1:8 htb rate 92mbit',
    expect: { shows: 'class htb 1:8 parent 1:7' },
  },
  {
    what: 'htb 9 levels',
    setup: htbChain(9),
    cmd: 'class add dev DEV parent 1:8 classid 1:9 htb rate 91mbit',
    expect: refused(2, 'Error: parent: the class tree would be deeper than 8 levels'),
  },
];

describe('extreme parameters against a live daemon', () => {
  let d: RunningDaemon;
  const tc = (line: string) => pspat(['tc', ...line.replaceAll('DEV', DEV).split(' ')]);
  const shown = async () => (await tc('class show dev DEV')).stdout + (await tc('qdisc show dev DEV')).stdout;

  beforeAll(async () => {
    // Saturating test traffic classified by the device's filters: every accepted row sees packets.
    d = await startDaemon(['--backend', 'null', '--rate', `${DEV}=10gbit`, '--test-traffic', `${DEV}=5001/1000`]);
    process.env.PSPAT_RUN_DIR = d.runDir;
  });
  afterAll(async () => {
    delete process.env.PSPAT_RUN_DIR;
    expect(await d.stop()).toBe(0);
    // Through every change and refusal, nothing was lost.
    const [, offered, sent, dropped, queued] = /offered (\d+) = sent (\d+) \+ dropped (\d+) \+ still queued (\d+)\n$/.exec(d.log())!.map(Number);
    expect(offered).toBeGreaterThan(0);
    expect(offered).toBe(sent + dropped + queued);
  });

  /** Accepted, as the kernel accepts it: exit 0, and on stderr at most sch_htb's warnings about a clamped quantum. */
  const accepted = (r: { code: number; stderr: string }, line: string) => {
    expect(r.code, line).toBe(0);
    expect(r.stderr, line).toMatch(/^(Warning: sch_htb: quantum of class [0-9A-F]+ is (big|small)\. Consider r2q change\.\n)*$/);
  };

  for (const row of ROWS) {
    it(`${row.what}: ${'code' in row.expect ? `refused (exit ${row.expect.code}), nothing changes` : 'accepted and scheduled'}`, async () => {
      await tc('qdisc del dev DEV root');
      for (const line of row.setup) accepted(await tc(line), line);
      const before = await shown();
      const r = await tc(row.cmd);
      if ('code' in row.expect) {
        expect({ code: r.code, stderr: r.stderr }).toEqual(row.expect);
        expect(await shown()).toBe(before);
        return;
      }
      accepted(r, row.cmd);
      expect(await shown()).toContain(row.expect.shows);
      for (const line of row.after ?? []) accepted(await tc(line), line);
      // Packets flow through what the row built (the default, or the only, leaf is 1:1 or the last one).
      await sleep(300);
      const stats = (await tc('-s class show dev DEV')).stdout + (await tc('-s qdisc show dev DEV')).stdout;
      const sent = [...stats.matchAll(/Sent (\d+) bytes (\d+) pkt/g)].map((m) => Number(m[2]));
      expect(Math.max(0, ...sent)).toBeGreaterThan(0);
    });
  }
});

describe('65536 classes on one link', () => {
  it('QFQ with the largest weight sum pspat takes (2^22): every class is served; one more weight is refused by name; counts exact', async () => {
    const host = await ArbiterHost.start({ poolFrames: 4 * 1024 });
    try {
      const classes = Array.from({ length: 65536 }, () => ({ weight: 64, limitPackets: 16 }));
      const link = await host.addLink({ rate: 1e9, scheduler: 'qfq', maxClasses: 65536, classes });
      await expect(link.changeClass(12345, { weight: 65 })).rejects.toThrow("weight: the sum of all class weights would be 4194305, above QFQ's limit 4194304");
      const fleet = await startGenerators(
        link,
        4,
        (i) => ({
          classes: Array.from({ length: 16384 }, (_, k) => i * 16384 + k),
          cycle: true,
          minSize: 64,
          maxSize: 64,
          packets: 16384 * 3,
          seed: i,
        }),
        1024,
      );
      await fleet.done;
      const [s] = await host.close({ drain: true, timeoutMs: 10_000 });
      expect(s.totals).toEqual({ offered: 4 * 16384 * 3, sent: 4 * 16384 * 3, dropped: 0, queued: 0 });
      expect(s.classes.filter((c) => c.sentPackets === 3)).toHaveLength(65536);
    } finally {
      await host.terminate();
    }
  });
});
