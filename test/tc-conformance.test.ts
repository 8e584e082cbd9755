/**
 * `pspat tc` held to the kernel: the cases in test/tc-testing/*.json, in the kernel's own
 * tc-testing form (id, name, setup, cmdUnderTest, expExitCode, verifyCmd, matchPattern,
 * matchCount, teardown), run first against the system's `tc` on a device in one network
 * namespace and then against `pspat tc` on a device of the same name in another, where a
 * daemon manages it. A case the kernel fails is a wrong case, and says so: every
 * expectation pspat is held to was checked against the kernel in the same run.
 *
 * The cases cover what this machine's kernel has (htb, tbf, pfifo, bfifo, u32 on egress)
 * and were written from tc's documentation and iproute2's and the kernel's behaviour.
 * Variables in commands: $TC (tc, or pspat tc), $IP, $DEV1 (the device), $REFCNT (the
 * device's transmit queues plus one, which a root qdisc's refcnt is), $WORK (a directory
 * of the side's own, for batch files). matchPattern is a
 * Python regular expression applied as tc-testing does (MULTILINE, DOTALL, `\A` and `\Z`
 * anchor the whole output); `matchOrder`, ours, lists what its first group captures, in
 * order.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tryNativeAddon } from '../src/transmit/native.js';
import { PSPAT_BIN } from './helpers/cli.js';
import { startDaemon, tempRunDir, type RunningDaemon } from './helpers/daemon.js';
import { skipWithoutNet } from './helpers/netns.js';

interface TcCase {
  id: string;
  name: string;
  category: string[];
  setup: (string | [string, ...number[]])[];
  cmdUnderTest: string;
  expExitCode: string;
  verifyCmd: string;
  matchPattern: string;
  matchCount: string;
  matchOrder?: string[];
  teardown: (string | [string, ...number[]])[];
}

const DIR = fileURLToPath(new URL('./tc-testing/', import.meta.url));
const FILES = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .sort();
const CASES = FILES.flatMap((file) => (JSON.parse(readFileSync(DIR + file, 'utf8')) as TcCase[]).map((c) => ({ file, ...c })));

const skip = skipWithoutNet() || tryNativeAddon() === null;
const DEV = 'tcdev0';
const KERNEL_NS = `pspat-tct-k-${process.pid}`;
const PSPAT_NS = `pspat-tct-p-${process.pid}`;
const runDir = tempRunDir();
let daemon: RunningDaemon | undefined;
const work = { kernel: mkdtempSync(join(tmpdir(), 'pspat-tct-k-')), pspat: mkdtempSync(join(tmpdir(), 'pspat-tct-p-')) };

function makeNamespace(ns: string): void {
  execFileSync('ip', ['netns', 'add', ns]);
  // No IPv6 on the devices: its autoconfiguration sends packets (MLD, router solicitations)
  // that the kernel's qdisc would count, where cases expect `Sent 0 bytes 0 pkt`.
  execFileSync('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
  execFileSync('ip', ['-n', ns, 'link', 'add', DEV, 'type', 'veth', 'peer', 'name', 'tcpeer0']);
  for (const d of [DEV, 'tcpeer0', 'lo']) execFileSync('ip', ['-n', ns, 'link', 'set', d, 'up']);
}

function removeNamespace(ns: string): void {
  spawnSync('ip', ['netns', 'del', ns]);
}

/** The root qdisc's refcnt the kernel reports: one per transmit queue the device has (not only the real ones), plus one. */
function refcnt(ns: string): number {
  const [link] = JSON.parse(execFileSync('ip', ['-n', ns, '-d', '-j', 'link', 'show', 'dev', DEV], { encoding: 'utf8' })) as { num_tx_queues: number }[];
  return link.num_tx_queues + 1;
}

/** Python's whole-string anchors, which JavaScript spells otherwise. */
function pattern(p: string): RegExp {
  return new RegExp(p.replaceAll('\\A', '(?<![\\s\\S])').replaceAll('\\Z', '(?![\\s\\S])'), 'gms');
}

type Side = 'kernel' | 'pspat';

function shell(side: Side, cmd: string): { code: number; stdout: string; stderr: string } {
  const ns = side === 'kernel' ? KERNEL_NS : PSPAT_NS;
  const tc = side === 'kernel' ? 'tc' : `${process.execPath} ${PSPAT_BIN} tc`;
  const env = { ...process.env, TC: tc, IP: 'ip', DEV1: DEV, REFCNT: String(refcnt(ns)), WORK: work[side], PSPAT_RUN_DIR: runDir };
  const r = spawnSync('ip', ['netns', 'exec', ns, 'bash', '-c', cmd], { env, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

/** Runs one case on one side; returns what did not hold (empty: it passed). Teardown runs however it went. */
function runCase(c: TcCase, side: Side): string[] {
  const failures: string[] = [];
  try {
    for (const step of c.setup) {
      const [cmd, ...codes] = typeof step === 'string' ? [step, 0] : step;
      const r = shell(side, cmd);
      if (!codes.includes(r.code)) return [`setup "${cmd}" exited ${r.code}: ${r.stderr.trim()}`];
    }
    const r = shell(side, c.cmdUnderTest);
    if (String(r.code) !== c.expExitCode) failures.push(`"${c.cmdUnderTest}" exited ${r.code}, expected ${c.expExitCode}: ${r.stderr.trim()}`);
    const v = shell(side, c.verifyCmd);
    const matches = [...v.stdout.matchAll(pattern(c.matchPattern.replaceAll('$REFCNT', String(refcnt(side === 'kernel' ? KERNEL_NS : PSPAT_NS)))))];
    if (String(matches.length) !== c.matchCount)
      failures.push(`"${c.verifyCmd}" matched ${matches.length} times, expected ${c.matchCount}; it printed:\n${v.stdout}`);
    else if (c.matchOrder && matches.map((m) => m[1]).join(' ') !== c.matchOrder.join(' ')) {
      failures.push(`"${c.verifyCmd}" listed ${matches.map((m) => m[1]).join(' ')}, expected ${c.matchOrder.join(' ')}`);
    }
  } finally {
    for (const step of c.teardown) shell(side, typeof step === 'string' ? step : step[0]);
  }
  return failures;
}

describe.skipIf(skip)('tc-testing cases: the kernel, then pspat tc', () => {
  beforeAll(async () => {
    for (const ns of [KERNEL_NS, PSPAT_NS]) removeNamespace(ns);
    makeNamespace(KERNEL_NS);
    makeNamespace(PSPAT_NS);
    daemon = await startDaemon(['--backend', 'afpacket', '--no-attach'], runDir, PSPAT_NS);
  }, 30_000);

  afterAll(async () => {
    try {
      if (daemon && daemon.child.exitCode === null) await daemon.stop();
    } finally {
      removeNamespace(KERNEL_NS);
      removeNamespace(PSPAT_NS);
      for (const dir of Object.values(work)) rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each(CASES.map((c) => [`${c.file} ${c.id}: ${c.name}`, c] as const))('%s', (_, c) => {
    expect(runCase(c, 'kernel'), 'the case, against the kernel').toEqual([]);
    expect(runCase(c, 'pspat'), 'pspat tc').toEqual([]);
  });
});
