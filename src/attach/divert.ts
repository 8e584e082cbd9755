/**
 * The egress diversion program (native/bpf/divert.bpf.c) and its heartbeat: how attach.ts
 * diverts a device's IPv4/IPv6 egress to the capture pair, and how a daemon that is not
 * there stops diverting it (fail open).
 *
 * attachDivert loads the program on the device's clsact egress hook, its state map pinned
 * at /sys/fs/bpf/pspat/DEV. The arbiter serving the device stamps a heartbeat there every
 * BEAT_NS (DivertState, through a shared mapping of the map: one store, no system call),
 * parked or not, and the daemon keeps a socket in the program's liveness map, which the
 * kernel empties when the daemon's process ends. A packet is redirected while the
 * heartbeat is within CHECK_NS; after that, only while the daemon's process is alive and
 * the heartbeat within `staleNs`. So a killed or crashed daemon's device fails open within
 * CHECK_NS, a stopped or wedged one's within `staleNs`, and an arbiter that waits long
 * for a CPU on a busy host (but less than `staleNs`) does not let packets around it. They
 * take the kernel's own path (the device's root qdisc) until a stamp comes again. With
 * `failClosed` the program redirects whatever happens (packets then die in the capture
 * pair while nobody reads it).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { PspatError } from '../errors.js';
import { nativeAddon, nativeBuildFile } from '../transmit/native.js';
import { errnoName } from '../errno.js';

/** Where pspat pins its BPF objects. */
export const BPF_PIN_DIR = '/sys/fs/bpf/pspat';
/** How often the arbiter stamps the heartbeat (it parks no longer than this while it serves a diverted device). */
export const BEAT_NS = 5e6;
/** A heartbeat older than this makes the program look whether the daemon's process is alive (a map lookup per packet). */
export const CHECK_NS = 3 * BEAT_NS;
/** The BPF program's name, as `tc filter show` prints it. */
export const DIVERT_PROGRAM = 'pspat_divert';

export type FailMode = 'open' | 'closed';

export class DivertError extends PspatError {
  constructor(message: string) {
    super('ERR_PSPAT_ATTACH', message);
  }
}

export interface DivertSpec {
  dev: string;
  /** The capture end packets are redirected to. */
  capture: string;
  /** Filter priority on the device's egress hook. */
  priority: number;
  failMode: FailMode;
  /** How old the heartbeat may be before packets pass (fail open). */
  staleNs: number;
  /** The capture threads' rings (CaptureRings), or none: every diverted frame takes the capture pair. */
  rings?: CaptureRings;
}

/** A device's capture rings (one per capture thread) and their drop counters: BPF map descriptors. */
export interface CaptureRings {
  fds: number[];
  drops: number;
}

/**
 * Why this host cannot capture into rings (the ring-capture program is missing, or the
 * kernel refuses it: older than 6.3), or null when it can: asked before the capture
 * threads start, so they hold their frames where their packets will come.
 */
export function ringCaptureRefused(): string | null {
  const object = nativeBuildFile(RING_PROGRAM_OBJECT);
  if (!existsSync(object)) return `${object} is missing (npm run build:native)`;
  const r = nativeAddon().bpfProbe(object);
  return r.err === 0 ? null : ringProgramRefused(r);
}

/** The ring-capture build of the diversion program (native/build.sh). */
const RING_PROGRAM_OBJECT = 'divert-ring.bpf.o';

function ringProgramRefused(r: { err: number; step: string }): string {
  return `cannot ${r.step} of the ring-capture program (${errnoName(r.err)})`;
}

/** New capture rings for `count` capture threads (close them with closeCaptureRings once the program holds them). */
export function createCaptureRings(count: number): CaptureRings {
  const r = nativeAddon().captureRingsCreate(count);
  if (r.err < 0) throw new DivertError(`cannot create the capture rings (${errnoName(r.err)})`);
  return { fds: r.rings, drops: r.drops };
}

export function closeCaptureRings(rings: CaptureRings): void {
  for (const fd of [...rings.fds, rings.drops]) nativeAddon().closeFd(fd);
}

export function divertPinPath(dev: string): string {
  return join(BPF_PIN_DIR, dev);
}

/** The BPF filesystem at /sys/fs/bpf, mounted if it is not (`ip netns exec` gives a fresh /sys without it). */
function ensureBpffs(): void {
  const mounted = readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[1] === '/sys/fs/bpf' && l.split(' ')[2] === 'bpf');
  if (!mounted) {
    try {
      execFileSync('mount', ['-t', 'bpf', 'bpf', '/sys/fs/bpf'], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (e) {
      throw new DivertError(`cannot mount the BPF filesystem at /sys/fs/bpf: ${String((e as { stderr?: string }).stderr ?? e).trim()}`);
    }
  }
  mkdirSync(BPF_PIN_DIR, { recursive: true, mode: 0o700 });
}

/** What an attached diversion program leaves with its caller. */
export interface DivertFds {
  /** The state map, for DivertState (close it once mapped). */
  state: number;
  /** The liveness socket: keep it open while the daemon takes the device's packets, close it when it gives the device back. */
  alive: number;
  /** Why the rings asked for are not used (the kernel refused the ring-capture program: older than 6.3), or null. */
  noRings: string | null;
}

/**
 * Attaches the diversion program to `spec.dev` (whose clsact qdisc must exist): with
 * rings, the ring-capture build where the kernel loads it, else (saying why) the plain one.
 */
export function attachDivert(spec: DivertSpec): DivertFds {
  const object = nativeBuildFile('divert.bpf.o');
  if (!existsSync(object)) throw new DivertError(`egress takeover needs ${object}: install clang and libbpf-dev, then run \`npm run build:native\``);
  ensureBpffs();
  const pin = divertPinPath(spec.dev);
  rmSync(pin, { force: true }); // a pin left by a daemon that was killed
  const ifindex = (name: string) => Number(readFileSync(`/sys/class/net/${name}/ifindex`, 'utf8'));
  const attach = (obj: string, rings: CaptureRings | undefined) =>
    nativeAddon().divertAttach(
      obj,
      pin,
      ifindex(spec.dev),
      ifindex(spec.capture),
      spec.staleNs,
      CHECK_NS,
      spec.failMode === 'closed',
      spec.priority,
      Int32Array.from(rings?.fds ?? []),
      rings?.drops ?? -1,
    );
  let noRings: string | null = null;
  if (spec.rings !== undefined) {
    const r = attach(nativeBuildFile(RING_PROGRAM_OBJECT), spec.rings);
    if (r.err === 0) return { state: r.stateFd, alive: r.aliveFd, noRings };
    noRings = ringProgramRefused(r);
  }
  const r = attach(object, undefined);
  if (r.err < 0) throw new DivertError(`${spec.dev}: cannot ${r.step} of the egress diversion program (${errnoName(r.err)})`);
  return { state: r.stateFd, alive: r.aliveFd, noRings };
}

/** Removes the pinned state map (the program and its map go with the filter). */
export function unpinDivert(dev: string): void {
  rmSync(divertPinPath(dev), { force: true });
}

/** Byte offsets in the state (struct divert_state). */
const HEARTBEAT_AT = 0;
const BYPASSED_AT = 64;

/**
 * One thread's mapping of a device's diversion state: the arbiter stamps the heartbeat,
 * the daemon reads how many packets passed while it was stale. The mapping outlives `fd`.
 */
export class DivertState {
  private readonly words: BigInt64Array;

  constructor(fd: number) {
    const buffer = nativeAddon().divertState(fd);
    if (typeof buffer === 'number') throw new DivertError(`cannot map the egress diversion state (${errnoName(buffer)})`);
    this.words = new BigInt64Array(buffer);
  }

  /** Stamps the heartbeat: `monotonicNs` is CLOCK_MONOTONIC (the shared clock's epoch + its reading), as bpf_ktime_get_ns reads it. */
  stamp(monotonicNs: bigint): void {
    Atomics.store(this.words, HEARTBEAT_AT / 8, monotonicNs);
  }

  /** Packets that took the kernel's path because the heartbeat was stale. */
  get bypassed(): number {
    return Number(Atomics.load(this.words, BYPASSED_AT / 8));
  }
}
