/**
 * Egress takeover: how a device's outgoing traffic reaches pspat without its senders
 * knowing, as a root qdisc would see it, and how the device is given back.
 *
 *   prepareCapture(dev), then, once the capture clients listen, redirect(state):
 *     1. a capture veth pair `pscN` / `pscNp` (N = the device's ifindex), `pscNp` in
 *        pspat's own network namespace `pspat-capture-INODE` (captureNetns): no addresses, no routes, no IPv6
 *        there, so what arrives is taken by the capture sockets (or else dropped by a
 *        stack with nowhere to send it); one queue per capture thread, so `pscN`'s
 *        transmit queue choice (a hash of the flow) spreads flows over the threads;
 *     2. on `pscN`, offloads off (checksumming, scatter-gather, TSO, GSO): the redirect hands a
 *        packet to `pscN`'s transmit path, which then segments GSO super-packets
 *        (a local TCP socket's, or a VM's, forwarded) and completes offloaded checksums in
 *        software — the capture sees finished, MTU-sized frames, which pspat can transmit
 *        as they are, while the device itself keeps its offloads;
 *     3. on the device's clsact egress hook (the qdisc added if the device had none), the
 *        diversion program (divert.ts) at pspat's own priority: it redirects IPv4 and
 *        IPv6 but not ICMPv6 (neighbour discovery stays on the kernel's path, as ARP does)
 *        to `pscN` while the daemon's heartbeat is fresh, and lets them through to the
 *        device's own qdisc when it is not (fail open; `--fail closed` redirects anyway).
 *   The daemon's capture workers read `pscNp` into the frame pool (capture.ts: by AF_XDP
 *   behind the XDP program capture-program.ts attaches there, or by packet sockets); pspat
 *   transmits on the device by AF_XDP or AF_PACKET with qdisc bypass, neither of which
 *   passes the egress hook again, so nothing loops.
 *
 *   detach(state): the reverse, each step tolerating "already undone": filters (or the
 *   clsact qdisc pspat added), then the capture pair.
 *
 * The state is written to RUN_DIR/attach/DEV.json before the device is touched, so a
 * daemon killed at any point leaves enough to undo it: the next daemon start, or `pspat
 * recover`, detaches whatever a dead daemon left attached. Those files are untrusted
 * input to a root process: parsed field by field (names must be interface names, the
 * capture pair pspat's own pattern), and acted on only as far as the device matches them
 * — the capture pair is removed only if it is a veth, the device's filters (or its clsact
 * qdisc) only if pspat's redirect to that pair is among them.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PspatError } from '../errors.js';
import { isInterfaceName, turnOffIpv6 } from '../net/device.js';
import { readInputFile, writeFileAtomic } from '../files.js';
import { attachDivert, DIVERT_PROGRAM, unpinDivert, type CaptureRings, type DivertFds, type FailMode } from './divert.js';
import { isAlive } from '../pids.js';

/** The filter priority pspat owns on a device's egress hook (tc's default auto priority is 49152). */
const PRIO_DIVERT = 49002;
/** Where releases before the diversion program put u32 filters; removed too when a dead daemon of theirs is recovered. */
const PRIO_EARLIER_U32 = [49001, 49003];
/** Offloads off on the capture end, so the kernel segments and checksums there (`ethtool -K` names). */
const CAPTURE_OFFLOADS_OFF = ['tx', 'off', 'sg', 'off', 'tso', 'off', 'gso', 'off'];
let captureNetnsName: string | undefined;

/**
 * The namespace holding the capture ends of this network namespace's devices:
 * `pspat-capture-INODE`, INODE this network namespace's, so that daemons in different
 * network namespaces (whose devices may share an ifindex, and so a capture pair's name)
 * never meet in one. The capture sockets are opened in it (setns). Read once, on the
 * main thread, before anything has entered another namespace.
 */
export function captureNetns(): string {
  captureNetnsName ??= `pspat-capture-${statSync('/proc/self/ns/net').ino}`;
  return captureNetnsName;
}

export interface AttachState {
  version: 1;
  dev: string;
  /** The capture pair: pspat redirects to `capture`, reads `capturePeer` (in captureNetns()). */
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
    if (err.code === 'ENOENT')
      throw new AttachError(`egress takeover needs '${cmd}' (Debian: apt-get install ${cmd === 'tc' || cmd === 'ip' ? 'iproute2' : cmd})`);
    throw new AttachError(
      `${cmd} ${args.join(' ')}: ${
        String(err.stderr ?? e)
          .trim()
          .split('\n')[0]
      }`,
    );
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
  if (!isInterfaceName(dev)) throw new AttachError(`'${dev}' is not an interface name`);
  return join(stateDir(runDir), `${dev}.json`);
}

/** RUN_DIR/attach, created 0700; a symlink there is refused (the run directory itself is checked at start). */
function ensureStateDir(runDir: string): void {
  const dir = stateDir(runDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (lstatSync(dir).isSymbolicLink()) throw new AttachError(`${dir} is a symbolic link: refusing it`);
}

/** An attach state file's contents, checked field by field; null for anything that is not one of ours. */
function parseState(text: string, fileName: string): AttachState | null {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return null;
  }
  if (typeof o !== 'object' || o === null || o.version !== 1 || !isInterfaceName(o.dev) || fileName !== `${o.dev}.json`) return null;
  if (typeof o.capture !== 'string' || !/^psc\d{1,10}$/.test(o.capture) || o.capturePeer !== `${o.capture}p`) return null;
  if (typeof o.clsactCreated !== 'boolean' || !Number.isInteger(o.pid) || (o.pid as number) <= 0) return null;
  return { version: 1, dev: o.dev, capture: o.capture, capturePeer: o.capturePeer, clsactCreated: o.clsactCreated, pid: o.pid as number };
}

/**
 * Whether `dev`'s egress hook holds pspat's redirect at pspat's own priority: the
 * diversion program, or (an earlier release's) a mirred redirect to the state's capture
 * end or to a device that is gone (tc prints `*`: the capture pair died with a killed
 * daemon's namespace). Then the filters, and a clsact pspat added, are ours to remove;
 * any other filter there is not.
 */
function hasOurRedirect(state: AttachState): boolean {
  let out: string;
  try {
    out = execFileSync('tc', ['filter', 'show', 'dev', state.dev, 'egress', 'prio', String(PRIO_DIVERT)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
  } catch {
    return false;
  }
  if (new RegExp(`\\bname ${DIVERT_PROGRAM}\\b`).test(out)) return true;
  const target = /mirred \(Egress Redirect to device (\S+)\)/.exec(out)?.[1];
  return target === state.capture || target === '*';
}

/** Whether the capture end is there and is a veth (a device of another kind with that name is not ours). */
function hasOurCapture(state: AttachState): boolean {
  try {
    return /\bveth\b/.test(execFileSync('ip', ['-d', 'link', 'show', state.capture], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
  } catch {
    return false;
  }
}

/**
 * The capture namespace, created if missing. A name whose namespace is gone (its bind
 * mount lived in a mount namespace that ended with a killed daemon) is removed first.
 */
function ensureCaptureNetns(): void {
  try {
    run('ip', ['-n', captureNetns(), 'link', 'show', 'lo']);
    return;
  } catch {
    undo('ip', ['netns', 'del', captureNetns()]);
  }
  run('ip', ['netns', 'add', captureNetns()]);
}

function hasClsact(dev: string): boolean {
  return /qdisc clsact /.test(run('tc', ['qdisc', 'show', 'dev', dev]));
}

/**
 * Step one of attaching `dev`: records the state, creates the capture pair with `queues`
 * queues each way (nothing is diverted yet, so the capture clients can open their
 * sockets first). Returns what `redirect` and `detach` need.
 */
export function prepareCapture(dev: string, runDir: string, queues = 1): AttachState {
  const ifindex = Number(readFileSync(`/sys/class/net/${dev}/ifindex`, 'utf8'));
  const state: AttachState = {
    version: 1,
    dev,
    capture: `psc${ifindex}`,
    capturePeer: `psc${ifindex}p`,
    clsactCreated: !hasClsact(dev),
    pid: process.pid,
  };
  ensureStateDir(runDir);
  writeFileAtomic(statePath(runDir, dev), `${JSON.stringify(state)}\n`);
  try {
    undo('ip', ['link', 'del', state.capture]); // a pair left by a crash before its state was written
    ensureCaptureNetns();
    const q = ['numtxqueues', String(queues), 'numrxqueues', String(queues)];
    run('ip', ['link', 'add', state.capture, ...q, 'type', 'veth', 'peer', 'name', state.capturePeer, ...q, 'netns', captureNetns()]);
    turnOffIpv6(state.capture); // the near end must not send anything of its own either
    run('ethtool', ['-K', state.capture, ...CAPTURE_OFFLOADS_OFF]);
    run('ip', ['link', 'set', state.capture, 'up']);
    run('ip', ['-n', captureNetns(), 'link', 'set', state.capturePeer, 'up']);
  } catch (e) {
    detach(state, runDir);
    throw e;
  }
  return state;
}

/** What happens to a diverted device's packets while the daemon is not there to take them. */
export interface FailPolicy {
  /** open: they take the kernel's own path once the daemon has ended, or its heartbeat is `staleMs` old; closed: they stay diverted (and are lost). */
  mode: FailMode;
  staleMs: number;
}

/**
 * Step two: the device's IPv4/IPv6 egress diverted to the capture pair, or, with `rings`,
 * to the capture threads' rings for what they can carry (divert.bpf.c). Returns the
 * diversion program's descriptors: its state, for the arbiter's heartbeat, and the
 * liveness socket, kept open until the device is given back (divert.ts).
 */
export function redirect(state: AttachState, runDir: string, fail: FailPolicy, rings?: CaptureRings): DivertFds {
  const dev = state.dev;
  try {
    if (state.clsactCreated) run('tc', ['qdisc', 'add', 'dev', dev, 'clsact']);
    return attachDivert({ dev, capture: state.capture, priority: PRIO_DIVERT, failMode: fail.mode, staleNs: fail.staleMs * 1e6, rings });
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
  else for (const prio of [PRIO_DIVERT, ...PRIO_EARLIER_U32]) undo('tc', ['filter', 'del', 'dev', dev, 'egress', 'prio', String(prio)]);
  unpinDivert(dev);
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
  dropEmptyCaptureNetns();
}

/**
 * The capture namespace goes with the last pair in it; so does a name whose namespace is
 * gone (it lived in the mount namespace of a daemon that was killed), which would
 * otherwise stay behind in /run/netns and make `ip netns list` complain.
 */
function dropEmptyCaptureNetns(): void {
  // Releases before per-namespace capture namespaces shared `pspat-capture`: an empty one left by them goes too.
  for (const ns of [captureNetns(), 'pspat-capture']) {
    let links = '';
    try {
      links = execFileSync('ip', ['-n', ns, '-o', 'link', 'show'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    } catch {
      /* no such name, or a stale one */
    }
    if (!/psc\d+p/.test(links)) undo('ip', ['netns', 'del', ns]);
  }
}

/** A state file is a hundred bytes; anything much larger is not one. */
const MAX_STATE_BYTES = 4096;

/**
 * Detaches every device a daemon that is no longer running left attached (killed, or
 * crashed); returns their names. Devices of a live daemon are left alone.
 */
export function recoverAttachments(runDir: string): string[] {
  const dir = stateDir(runDir);
  if (!existsSync(dir)) return [];
  if (lstatSync(dir).isSymbolicLink()) throw new AttachError(`${dir} is a symbolic link: refusing it`);
  const restored: string[] = [];
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.json'))) {
    let state: AttachState | null;
    try {
      state = parseState(readInputFile(join(dir, name), MAX_STATE_BYTES), name);
    } catch {
      state = null;
    }
    if (state === null) continue; // not ours to guess at
    if (state.pid !== process.pid && isAlive(state.pid)) continue;
    // Only what the device shows to be pspat's is undone; the stale file goes either way.
    const redirected = hasOurRedirect(state);
    const captured = hasOurCapture(state);
    if (redirected) unredirect(state);
    if (captured) undo('ip', ['link', 'del', state.capture]);
    rmSync(join(dir, name), { force: true });
    if (redirected || captured) dropEmptyCaptureNetns();
    if (redirected || captured) restored.push(state.dev);
  }
  return restored;
}
