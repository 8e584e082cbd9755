/**
 * Hardening the daemon against an attacker's files and an unlucky operator: a run
 * directory nobody else can steer, attach state parsed as untrusted input, one owner per
 * device, bounded memory per control connection and per metrics port, clients that give
 * up on a hung daemon, input files that must be regular files. Each case fails on the
 * daemon before these fixes. Devices live in a namespace of the test's own.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PSPAT_BIN, pspat } from './helpers/cli.js';
import { startDaemon, tempRunDir, type RunningDaemon } from './helpers/daemon.js';
import { skipWithoutNet } from './helpers/netns.js';
import { waitFor } from './helpers/wait.js';

const running: RunningDaemon[] = [];
afterEach(async () => {
  for (const d of running.splice(0)) {
    if (d.child.exitCode === null) d.child.kill('SIGCONT');
    if (d.child.exitCode === null) await d.stop();
  }
});

async function daemon(args: string[], runDir?: string, netns?: string): Promise<RunningDaemon> {
  const d = await startDaemon(args, runDir, netns);
  running.push(d);
  return d;
}

/** RSS of a process, kB. */
function rssKb(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
}

describe('run directory', () => {
  it('refuses a run directory that is a symbolic link, and leaves its target alone', async () => {
    const base = mkdtempSync(join(tmpdir(), 'pspat-rd-'));
    const target = join(base, 'target');
    mkdirSync(target, { mode: 0o755 });
    symlinkSync(target, join(base, 'run'));
    const r = await pspat(['daemon', '--backend', 'null', '--run-dir', join(base, 'run')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`run directory ${join(base, 'run')} is a symbolic link: refusing it`);
    expect(statSync(target).mode & 0o777).toBe(0o755);
  });

  it.skipIf(process.getuid?.() !== 0)("refuses another user's run directory", async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'pspat-rd-')), 'run');
    mkdirSync(dir, { mode: 0o700 });
    chownSync(dir, 65534, 65534);
    const r = await pspat(['daemon', '--backend', 'null', '--run-dir', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`run directory ${dir} belongs to uid 65534, not to this process (uid 0)`);
  });

  it('makes its own run directory 0700', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'pspat-rd-')), 'run');
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dir, 0o755);
    await daemon(['--backend', 'null'], dir);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });
});

describe('clients of a hung daemon, control connections, input files', () => {
  it('pspat tc, stats and config dump give up on a stopped daemon after --timeout, saying so', async () => {
    const d = await daemon(['--backend', 'null']);
    d.child.kill('SIGSTOP');
    for (const args of [
      ['tc', '--run-dir', d.runDir, '--timeout', '0.5', 'qdisc', 'show'],
      ['stats', '--run-dir', d.runDir, '--timeout', '0.5'],
      ['config', 'dump', '--run-dir', d.runDir, '--timeout', '0.5'],
    ]) {
      const r = await pspat(args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr).toContain('no reply from the daemon within 0.5 s (is it stopped or hung? --timeout sets the wait)');
    }
    d.child.kill('SIGCONT');
  });

  it('a control client that sends without reading is throttled: the daemon stays small and serves others', async () => {
    const d = await daemon(['--backend', 'null']);
    const before = rssKb(d.child.pid!);
    const flood: Socket = createConnection(join(d.runDir, 'pspat.sock'));
    flood.pause(); // never reads a reply
    const line = `${JSON.stringify({ v: 1, op: 'config' })}\n`.repeat(1000);
    const end = Date.now() + 3000;
    while (Date.now() < end && !flood.destroyed) {
      if (!flood.write(line)) await new Promise((r) => setTimeout(r, 20));
    }
    expect(rssKb(d.child.pid!) - before).toBeLessThan(100 * 1024); // was 225 → 2021 MiB in 20 s
    process.env.PSPAT_RUN_DIR = d.runDir;
    expect((await pspat(['tc', 'qdisc', 'show'])).code).toBe(0);
    flood.destroy();
  });

  it('input files must be regular files: a FIFO or /dev/zero is refused at once', async () => {
    const fifo = join(mkdtempSync(join(tmpdir(), 'pspat-in-')), 'fifo');
    execFileSync('mkfifo', [fifo]);
    const sim = await pspat(['sim', '--scheduler', 'drr', '--workload', fifo]);
    expect([sim.code, sim.stderr]).toEqual([1, `pspat: workload: cannot read '${fifo}': not a regular file\n`]);
    const cfg = await pspat(['daemon', '--config', '/dev/zero', '--run-dir', tempRunDir()]);
    expect([cfg.code, cfg.stderr]).toEqual([1, "pspat: config: cannot read '/dev/zero': not a regular file\n"]);
  });

  it('bad --frames, --test-traffic sizes, --max-classes and --capture are refused by name', async () => {
    expect((await pspat(['demo', '--frames', '0'])).stderr).toBe('pspat: frames: must be an integer in [1, 65536], got 0\n');
    const t = await pspat(['daemon', '--backend', 'null', '--run-dir', tempRunDir(), '--test-traffic', 'x0=5001/10']);
    expect([t.code, t.stderr]).toEqual([1, 'pspat: test-traffic: x0: frame size must be an integer in [50, 2048] bytes, got 10\n']);
    const m = await pspat(['daemon', '--backend', 'null', '--run-dir', tempRunDir(), '--max-classes', '0']);
    expect([m.code, m.stderr]).toEqual([1, 'pspat: max-classes: must be an integer in [1, 1048576], got 0\n']);
    const c = await pspat(['daemon', '--backend', 'null', '--run-dir', tempRunDir(), '--capture', 'pcap']);
    expect([c.code, c.stderr]).toEqual([1, 'pspat: capture: must be one of auto, ring, xdp, packet, got "pcap"\n']);
  });

  it('metrics: connections beyond the cap are closed at once, and scrapes within a second share one reading', async () => {
    const d = await daemon(['--backend', 'null', '--metrics', '127.0.0.1:0']);
    const url = /metrics at (http:\/\/\S+)/.exec(d.log())![1];
    const { port } = new URL(url);
    const sockets: Socket[] = [];
    let closed = 0;
    for (let i = 0; i < 100; i++) {
      const s = createConnection(Number(port), '127.0.0.1');
      s.on('error', () => {});
      s.on('close', () => closed++);
      sockets.push(s);
    }
    await waitFor('connections over the cap to be closed', () => closed >= 100 - 64);
    // The ones it took, idle, are closed after METRICS_IDLE_MS (5 s): they hold no descriptor for long.
    await waitFor('idle connections to be closed', () => closed === 100, 15_000);
    const [a, b] = await Promise.all([fetch(url).then((r) => r.text()), fetch(url).then((r) => r.text())]);
    expect(a).toContain('pspat_arbiter_passes_total');
    expect(a).toBe(b);
    process.env.PSPAT_RUN_DIR = d.runDir;
    expect((await pspat(['tc', 'qdisc', 'show'])).code).toBe(0);
  });
});

describe.skipIf(skipWithoutNet())('devices: planted attach state, one owner per device', () => {
  const ns = `pspat-hard-${process.pid}`;
  const inNs = (cmd: string[]) => execFileSync('ip', ['netns', 'exec', ns, ...cmd], { encoding: 'utf8' });
  beforeAll(() => {
    execFileSync('ip', ['netns', 'add', ns]);
    // A veth pair inside the namespace: this kernel has no dummy devices.
    inNs(['ip', 'link', 'add', 'hard0', 'type', 'veth', 'peer', 'name', 'hard1']);
    inNs(['ip', 'link', 'set', 'hard0', 'up']);
    inNs(['ip', 'link', 'set', 'hard1', 'up']);
  });
  afterAll(() => {
    execFileSync('ip', ['netns', 'del', ns]);
  });

  /** `pspat daemon` inside the test's namespace; resolves once it listens. */
  const daemonInNs = (runDir: string): Promise<RunningDaemon> => daemon(['--backend', 'afpacket', '--no-attach'], runDir, ns);

  it('a second daemon is refused a device the first manages, and the first keeps it', async () => {
    const first = await daemonInNs(tempRunDir());
    const second = await daemonInNs(tempRunDir());
    const add = (d: RunningDaemon) => pspat(['tc', '--run-dir', d.runDir, 'qdisc', 'add', 'dev', 'hard0', 'root', 'handle', '1:', 'drr']);
    expect((await add(first)).code).toBe(0);
    const r = await add(second);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('Error: device "hard0" is managed by another pspat daemon on this host (one owner per device)\n');
    expect((await pspat(['tc', '--run-dir', first.runDir, 'qdisc', 'show', 'dev', 'hard0'])).stdout).toContain('qdisc drr 1: root');
    // Given back, the device is free for the other daemon.
    expect((await pspat(['tc', '--run-dir', first.runDir, 'qdisc', 'del', 'dev', 'hard0', 'root'])).code).toBe(0);
    expect((await add(second)).code).toBe(0);
    // pspat's own capture devices are never links: a redirect into one would loop.
    inNs(['ip', 'link', 'add', 'psc99', 'type', 'veth', 'peer', 'name', 'psc99p']);
    const own = await pspat(['tc', '--run-dir', first.runDir, 'qdisc', 'add', 'dev', 'psc99', 'root', 'handle', '1:', 'drr']);
    expect([own.code, own.stderr]).toEqual([1, 'Error: pspat cannot manage device "psc99": it is one of pspat\'s own capture devices\n']);
  });

  it("pspat recover ignores planted state: a bad name, a path, and a device whose filters are not pspat's", () => {
    const runDir = tempRunDir();
    mkdirSync(join(runDir, 'attach'), { recursive: true, mode: 0o700 });
    // The device has a clsact qdisc and a filter of someone else's.
    inNs(['tc', 'qdisc', 'add', 'dev', 'hard0', 'clsact']);
    inNs([
      'tc',
      'filter',
      'add',
      'dev',
      'hard0',
      'egress',
      'prio',
      '49002',
      'protocol',
      'ip',
      'u32',
      'match',
      'u32',
      '0',
      '0',
      'action',
      'mirred',
      'egress',
      'redirect',
      'dev',
      'hard1',
    ]);
    const state = (dev: string) => JSON.stringify({ version: 1, dev, capture: 'psc4242', capturePeer: 'psc4242p', clsactCreated: true, pid: 2 ** 22 + 1 });
    writeFileSync(join(runDir, 'attach', 'hard0.json'), state('hard0'));
    const outside = join(runDir, 'outside.json');
    writeFileSync(outside, 'keep');
    writeFileSync(join(runDir, 'attach', 'evil.json'), state('../outside'));
    const r = execFileSync('ip', ['netns', 'exec', ns, process.execPath, PSPAT_BIN, 'recover', '--run-dir', runDir], { encoding: 'utf8' });
    expect(r).not.toContain('hard0');
    expect(inNs(['tc', 'filter', 'show', 'dev', 'hard0', 'egress'])).toContain('pref 49002');
    expect(existsSync(outside)).toBe(true);
    expect(existsSync(join(runDir, 'attach', 'hard0.json'))).toBe(false); // stale, parsed, nothing to undo: removed
    inNs(['tc', 'qdisc', 'del', 'dev', 'hard0', 'clsact']);
  });
});
