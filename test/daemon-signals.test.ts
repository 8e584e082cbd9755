/**
 * Hardening the daemon (issue: every signal handled, no device taken by mistake, only
 * its own socket removed): each case fails on a daemon without the fix.
 */
import { existsSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { pspat } from './helpers/cli.js';
import { startDaemon, type RunningDaemon } from './helpers/daemon.js';
import { waitFor } from './helpers/wait.js';
import { tryNativeAddon } from '../src/transmit/native.js';

const canNative = process.getuid?.() === 0 && tryNativeAddon() !== null;
const running: RunningDaemon[] = [];
afterEach(async () => {
  for (const d of running.splice(0)) if (d.child.exitCode === null) await d.stop();
});

async function daemon(args: string[], runDir?: string): Promise<RunningDaemon> {
  const d = await startDaemon(args, runDir);
  running.push(d);
  return d;
}

function tc(d: RunningDaemon, line: string) {
  process.env.PSPAT_RUN_DIR = d.runDir;
  return pspat(['tc', ...line.split(' ')]);
}

describe('daemon signals and ownership', () => {
  it('SIGHUP and SIGUSR2 are said and ignored: the daemon keeps its state and serves', async () => {
    const d = await daemon(['--backend', 'null']);
    expect((await tc(d, 'qdisc add dev sig0 root handle 1: drr')).code).toBe(0);
    d.child.kill('SIGHUP');
    d.child.kill('SIGUSR2');
    await waitFor('the SIGUSR2 line', () => d.log().includes('SIGUSR2: ignored'));
    expect(d.log()).toContain('SIGHUP: ignored');
    const show = await tc(d, 'qdisc show dev sig0');
    expect(show.code).toBe(0);
    expect(show.stdout).toContain('qdisc drr 1: root');
    expect(await d.stop()).toBe(0);
  });

  it('SIGUSR1 with an unwritable save path says so and the daemon goes on', async () => {
    const d = await daemon(['--backend', 'null', '--save', '/nonexistent-pspat-dir/run.json']);
    d.child.kill('SIGUSR1');
    await waitFor('the failed save line', () => d.log().includes('SIGUSR1: could not write /nonexistent-pspat-dir/run.json'));
    await sleep(100);
    expect(d.child.exitCode).toBeNull();
    expect((await tc(d, 'qdisc show')).code).toBe(0);
    expect(await d.stop()).toBe(0);
  });

  it("an old daemon's exit leaves a newer daemon's socket alone", async () => {
    const old = await daemon(['--backend', 'null']);
    const sock = join(old.runDir, 'pspat.sock');
    unlinkSync(sock); // as a cleanup script might; the next daemon creates its own
    const next = await daemon(['--backend', 'null'], old.runDir);
    expect(await old.stop()).toBe(0);
    expect(existsSync(sock)).toBe(true);
    expect((await tc(next, 'qdisc show')).code).toBe(0);
  });

  it('refuses an unknown backend at start, naming the choices', async () => {
    const r = await pspat(['daemon', '--backend', 'afxpd', '--run-dir', '/tmp/pspat-never-started']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("backend: unknown backend 'afxpd' (known: null, pcap, afxdp, afpacket)");
  });

  it.skipIf(!canNative && !process.env.PSPAT_REQUIRE_NET)('refuses to take over loopback, and nothing changes', async () => {
    const d = await daemon(['--backend', 'afpacket']);
    const r = await tc(d, 'qdisc add dev lo root handle 1: htb');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'Error: pspat cannot manage device "lo": it is a loopback device: it has no link to schedule, and taking it over would cut off local traffic\n',
    );
    const show = await tc(d, 'qdisc show dev lo');
    expect(show.stdout).not.toContain('htb');
  });
});
