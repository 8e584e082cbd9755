/**
 * examples/libvirt/: libvirt's own tc sequence for a VM's `<bandwidth>` (what
 * virNetDevBandwidthSet runs when the VM starts), through the tc wrapper, against a daemon
 * told to manage `vnet*` only. The egress htb, its sfq and fw filter become pspat's; the
 * ingress qdisc and any other device stay the kernel's. This kernel has no act_police, so
 * libvirt's ingress police filter is left out.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tryNativeAddon } from '../src/transmit/native.js';
import { request } from '../src/daemon/control-socket.js';
import { PSPAT_BIN } from './helpers/cli.js';
import { startDaemon, tempRunDir, type RunningDaemon } from './helpers/daemon.js';
import { skipWithoutNet } from './helpers/netns.js';

const skip = skipWithoutNet() || tryNativeAddon() === null;
const WRAPPER = fileURLToPath(new URL('../examples/libvirt/tc', import.meta.url));
const NS = `pspat-libvirt-${process.pid}`;
const runDir = tempRunDir();
let daemon: RunningDaemon | undefined;

/** The system's tc, wherever this machine has it. */
const SYSTEM_TC = ['/usr/sbin/tc', '/sbin/tc'].find((p) => spawnSync(p, ['-V']).status === 0) ?? 'tc';

/** `tc ARGS` as libvirt runs it, through the wrapper, in the namespace. */
function tc(line: string): { code: number; stdout: string; stderr: string } {
  const env = { ...process.env, PSPAT: PSPAT_BIN, PSPAT_SYSTEM_TC: SYSTEM_TC, PSPAT_RUN_DIR: runDir };
  const r = spawnSync('ip', ['netns', 'exec', NS, WRAPPER, ...line.split(' ')], { env, encoding: 'utf8' });
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

const kernelTc = (line: string) => execFileSync('ip', ['netns', 'exec', NS, SYSTEM_TC, ...line.split(' ')], { encoding: 'utf8' });

describe.skipIf(skip)('examples/libvirt: libvirt runs tc, pspat shapes the VM taps', () => {
  beforeAll(async () => {
    spawnSync('ip', ['netns', 'del', NS]);
    execFileSync('ip', ['netns', 'add', NS]);
    for (const [dev, peer] of [
      ['vnet0', 'vnet0p'],
      ['eth9', 'eth9p'],
    ]) {
      execFileSync('ip', ['-n', NS, 'link', 'add', dev, 'type', 'veth', 'peer', 'name', peer]);
      execFileSync('ip', ['-n', NS, 'link', 'set', dev, 'up']);
      execFileSync('ip', ['-n', NS, 'link', 'set', peer, 'up']);
    }
    daemon = await startDaemon(['--backend', 'afpacket', '--no-attach', '--devices', 'vnet*'], runDir, NS);
  }, 30_000);

  afterAll(async () => {
    try {
      if (daemon && daemon.child.exitCode === null) await daemon.stop();
    } finally {
      spawnSync('ip', ['netns', 'del', NS]);
    }
  });

  it("applies libvirt's <bandwidth> sequence: egress to pspat, ingress to the kernel", async () => {
    // libvirt clears first and ignores those errors: nothing is there yet.
    expect(tc('qdisc del dev vnet0 root').code).not.toBe(0);
    expect(tc('qdisc del dev vnet0 ingress').code).not.toBe(0);
    // <outbound average='1000' peak='2000' burst='256'/> (kilobytes per second, kilobytes).
    for (const line of [
      'qdisc add dev vnet0 root handle 1: htb default 1',
      'class add dev vnet0 parent 1: classid 1:1 htb rate 1000kbps ceil 2000kbps burst 256kb quantum 21875',
      'qdisc add dev vnet0 parent 1:1 handle 2: sfq perturb 10',
      'filter add dev vnet0 parent 1:0 protocol all prio 1 handle 1 fw flowid 1',
      'qdisc add dev vnet0 ingress',
    ]) {
      const r = tc(line);
      expect([r.code, r.stderr], line).toEqual([0, '']);
    }
    expect(tc('class show dev vnet0').stdout).toMatch(/^class htb 1:1 root leaf 2: prio 0 rate 8Mbit ceil 16Mbit burst /m);
    // pspat's model holds the egress configuration (its dump), the kernel's root qdisc is not htb.
    const dump = (await request(runDir, { op: 'config' })) as { config: { devices: Record<string, string[]> } };
    expect(dump.config.devices.vnet0).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^qdisc add dev vnet0 root handle 1: htb /),
        expect.stringMatching(/ sfq /),
        expect.stringMatching(/ fw /),
      ]),
    );
    expect(kernelTc('qdisc show dev vnet0')).not.toMatch(/qdisc htb/);
    // The ingress qdisc is the kernel's.
    expect(kernelTc('qdisc show dev vnet0 ingress')).toMatch(/^qdisc ingress ffff: parent ffff:fff1/m);
  });

  it("a device outside --devices is the kernel's: the wrapper runs the real tc", async () => {
    const r = tc('qdisc add dev eth9 root handle 1: htb default 1');
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(kernelTc('qdisc show dev eth9')).toMatch(/^qdisc htb 1: root /m);
    const dump = (await request(runDir, { op: 'config' })) as { config: { devices: Record<string, string[]> } };
    expect(Object.keys(dump.config.devices)).toEqual(['vnet0']);
    expect(tc('qdisc del dev eth9 root').code).toBe(0);
  });

  it('libvirt stopping the VM gives the tap back', async () => {
    expect(tc('qdisc del dev vnet0 root').code).toBe(0);
    expect(tc('qdisc del dev vnet0 ingress').code).toBe(0);
    const dump = (await request(runDir, { op: 'config' })) as { config: { devices: Record<string, string[]> } };
    expect(dump.config.devices).toEqual({});
  });
});
