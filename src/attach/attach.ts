/**
 * Egress takeover: how a device's outgoing traffic reaches pspat without its senders
 * knowing, as a root qdisc would see it, and how the device is given back.
 *
 *   prepareCapture(dev), then, once the capture clients listen, redirect(state):
 *     1. a capture veth pair `pscN` / `pscNp` (N = the device's ifindex), `pscNp` in
 *        pspat's own network namespace `pspat-capture`: no addresses, no routes, no IPv6
 *        there, so what arrives is seen by the capture sockets and then dropped by a stack
 *        with nowhere to send it (no tc action is needed for that: this kernel has u32 and
 *        mirred, not gact or matchall);
 *     2. on `pscN`, offloads off (checksumming, scatter-gather, TSO, GSO): mirred hands a
 *        redirected packet to `pscN`'s transmit path, which then segments GSO super-packets
 *        (a local TCP socket's, or a VM's, forwarded) and completes offloaded checksums in
 *        software — the capture sees finished, MTU-sized frames, which pspat can transmit
 *        as they are, while the device itself keeps its offloads;
 *     3. on the device's clsact egress hook (the qdisc added if the device had none),
 *        u32 filters at pspat's own priorities: ICMPv6 matches a filter with no action,
 *        which lets it through (neighbour discovery stays on the kernel's path, as ARP does:
 *        only IPv4 and IPv6 are taken), then IPv4 and IPv6 are redirected (mirred) to `pscN`.
 *   The daemon's capture workers read `pscNp` into the frame pool (capture.ts); pspat
 *   transmits on the device by AF_XDP or AF_PACKET with qdisc bypass, neither of which
 *   passes the egress hook again, so nothing loops.
 *
 *   detach(state): the reverse, each step tolerating "already undone": filters (or the
 *   clsact qdisc pspat added), then the capture pair.
 *
 * The state is written to RUN_DIR/attach/DEV.json before the device is touched, so a
 * daemon killed at any point leaves enough to undo it: the next daemon start, or `pspat
 * recover`, detaches whatever a dead daemon left attached.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PspatError } from '../errors.js';
import { turnOffIpv6 } from '../net/device.js';

/** Filter priorities pspat owns on a device's egress hook (tc's default auto priority is 49152). */
const PRIO_PASS_ICMPV6 = 49001;
const PRIO_REDIRECT_IP = 49002;
const PRIO_REDIRECT_IPV6 = 49003;
/** Offloads off on the capture end, so the kernel segments and checksums there (`ethtool -K` names). */
const CAPTURE_OFFLOADS_OFF = ['tx', 'off', 'sg', 'off', 'tso', 'off', 'gso', 'off'];
/** The namespace holding the capture ends; the capture sockets are opened in it (setns). */
export const CAPTURE_NETNS = 'pspat-capture';

export interface AttachState {
  version: 1;
  dev: string;
  /** The capture pair: pspat redirects to `capture`, reads `capturePeer` (in CAPTURE_NETNS). */
  capture: string;
  capturePeer: string;
  /** True when pspat added the device's clsact qdisc (detach then removes it whole). */
  clsactCreated: boolean;
  /** The daemon that attached it. */
  pid: number;
}

export class AttachError extends PspatError {
  constructor(message: string) {
    super('ERR_PSPAT_ATTACH', message);
  }
}

function run(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: string; code?: string };
    if (err.code === 'ENOENT') throw new AttachError(`egress takeover needs '${cmd}' (Debian: apt-get install ${cmd === 'tc' || cmd === 'ip' ? 'iproute2' : cmd})`);
    throw new AttachError(`${cmd} ${args.join(' ')}: ${String(err.stderr ?? e).trim().split('\n')[0]}`);
  }
}

/** Runs an undo step; a step already undone (or whose object is gone) is not an error. */
function undo(cmd: string, args: string[]): void {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
  } catch {
    /* already undone */
  }
}

function stateDir(runDir: string): string {
  return join(runDir, 'attach');
}

function statePath(runDir: string, dev: string): string {
  return join(stateDir(runDir), `${dev}.json`);
}

/**
 * The capture namespace, created if missing. A name whose namespace is gone (its bind
 * mount lived in a mount namespace that ended with a killed daemon) is removed first.
 */
function ensureCaptureNetns(): void {
  try {
    run('ip', ['-n', CAPTURE_NETNS, 'link', 'show', 'lo']);
    return;
  } catch {
    undo('ip', ['netns', 'del', CAPTURE_NETNS]);
  }
  run('ip', ['netns', 'add', CAPTURE_NETNS]);
}

function hasClsact(dev: string): boolean {
  return /qdisc clsact /.test(run('tc', ['qdisc', 'show', 'dev', dev]));
}

/**
 * Step one of attaching `dev`: records the state, creates the capture pair (nothing is
 * diverted yet, so the capture clients can open their sockets first). Returns what
 * `redirect` and `detach` need.
 */
export function prepareCapture(dev: string, runDir: string): AttachState {
  const ifindex = Number(readFileSync(`/sys/class/net/${dev}/ifindex`, 'utf8'));
  const state: AttachState = {
    version: 1,
    dev,
    capture: `psc${ifindex}`,
    capturePeer: `psc${ifindex}p`,
    clsactCreated: !hasClsact(dev),
    pid: process.pid,
  };
  mkdirSync(stateDir(runDir), { recursive: true, mode: 0o700 });
  writeFileSync(statePath(runDir, dev), `${JSON.stringify(state)}\n`, { mode: 0o600 });
  try {
    undo('ip', ['link', 'del', state.capture]); // a pair left by a crash before its state was written
    ensureCaptureNetns();
    run('ip', ['link', 'add', state.capture, 'type', 'veth', 'peer', 'name', state.capturePeer, 'netns', CAPTURE_NETNS]);
    turnOffIpv6(state.capture); // the near end must not send anything of its own either
    run('ethtool', ['-K', state.capture, ...CAPTURE_OFFLOADS_OFF]);
    run('ip', ['link', 'set', state.capture, 'up']);
    run('ip', ['-n', CAPTURE_NETNS, 'link', 'set', state.capturePeer, 'up']);
  } catch (e) {
    detach(state, runDir);
    throw e;
  }
  return state;
}

/** Step two: the device's IPv4/IPv6 egress redirected to the capture pair. */
export function redirect(state: AttachState, runDir: string): void {
  const dev = state.dev;
  try {
    if (state.clsactCreated) run('tc', ['qdisc', 'add', 'dev', dev, 'clsact']);
    const egress = (prio: number, proto: string) => ['filter', 'add', 'dev', dev, 'egress', 'prio', String(prio), 'protocol', proto, 'u32'];
    const toCapture = ['match', 'u32', '0', '0', 'action', 'mirred', 'egress', 'redirect', 'dev', state.capture];
    run('tc', [...egress(PRIO_PASS_ICMPV6, 'ipv6'), 'match', 'ip6', 'protocol', '58', '0xff', 'flowid', '1:1']);
    run('tc', [...egress(PRIO_REDIRECT_IP, 'ip'), ...toCapture]);
    run('tc', [...egress(PRIO_REDIRECT_IPV6, 'ipv6'), ...toCapture]);
  } catch (e) {
    detach(state, runDir);
    throw e;
  }
}

/**
 * Detach, step one: the device's egress takes the kernel's path again (pspat's filters,
 * or the clsact qdisc pspat added, removed). What was already redirected is still in the
 * capture pair for the capture clients to finish.
 */
export function unredirect(state: AttachState): void {
  const dev = state.dev;
  if (state.clsactCreated) undo('tc', ['qdisc', 'del', 'dev', dev, 'clsact']);
  else for (const prio of [PRIO_REDIRECT_IP, PRIO_REDIRECT_IPV6, PRIO_PASS_ICMPV6]) undo('tc', ['filter', 'del', 'dev', dev, 'egress', 'prio', String(prio)]);
}

/** Gives the device back as it was (both steps); safe to repeat, and after a partial attach. */
export function detach(state: AttachState, runDir: string): void {
  unredirect(state);
  removeCapture(state, runDir);
}

/** Detach, step two: the capture pair and the recorded state go. */
export function removeCapture(state: AttachState, runDir: string): void {
  const dev = state.dev;
  undo('ip', ['link', 'del', state.capture]);
  rmSync(statePath(runDir, dev), { force: true });
  // The capture namespace goes with the last pair in it; so does a name whose namespace
  // is gone (it lived in the mount namespace of a daemon that was killed), which would
  // otherwise stay behind in /run/netns and make `ip netns list` complain.
  let links = '';
  try {
    links = execFileSync('ip', ['-n', CAPTURE_NETNS, '-o', 'link', 'show'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    /* no such name, or a stale one */
  }
  if (!/psc\d+p/.test(links)) undo('ip', ['netns', 'del', CAPTURE_NETNS]);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Detaches every device a daemon that is no longer running left attached (killed, or
 * crashed); returns their names. Devices of a live daemon are left alone.
 */
export function recoverAttachments(runDir: string): string[] {
  const dir = stateDir(runDir);
  if (!existsSync(dir)) return [];
  const restored: string[] = [];
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.json'))) {
    let state: AttachState;
    try {
      state = JSON.parse(readFileSync(join(dir, name), 'utf8')) as AttachState;
    } catch {
      continue; // not ours to guess at
    }
    if (state.version !== 1 || (state.pid !== process.pid && isAlive(state.pid))) continue;
    detach(state, runDir);
    restored.push(state.dev);
  }
  return restored;
}
