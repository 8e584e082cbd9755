/**
 * The daemon's options, declared once: the interface (each field's meaning and @default),
 * the defaults, the keys a configuration file may set, and the one validation every
 * source goes through (flags, the configuration file, a library caller) before anything
 * starts. The command line's flags for them are src/cli/flags.ts's DAEMON_FLAGS, a table
 * typed over this interface, so no option ships without a flag or a stated reason.
 */
import { MIN_TEST_FRAME } from '../../traffic/packet.js';
import { CAPTURE_MODES, type CaptureMode } from '../attach/capture-program.js';
import { CHECK_NS, type FailMode } from '../attach/divert.js';
import { InvalidOptionError } from '../errors.js';
import { isInterfaceName } from '../net/device.js';
import { ARBITER_DEFAULTS, checkTransmitOptions, MAX_RATE, MAX_STAGE_SAMPLE, TRANSMIT_DEFAULTS, withDefaults, type TransmitOptions } from '../options.js';
import { PLACEMENT_KEYS, planPlacement, type PlacementOptions } from '../placement.js';
import { DEFAULT_RUN_DIR } from './control-socket.js';

/**
 * Synthetic load on a device: one saturating generator thread per UDP port, classified
 * by the device's filters. One sender per flow, each with its own frames, as separate
 * VMs or sockets would be: a flow held back by its class holds back only itself.
 */
export interface TestTraffic {
  ports: number[];
  /** Frame size, bytes. @default 1000 */
  size?: number;
}

export const DEFAULT_TEST_FRAME = 1000;

export interface DaemonOptions extends TransmitOptions, PlacementOptions {
  /**
   * Per device, a saturating generator started when the device becomes managed: a way to
   * try a configuration before real traffic is diverted to pspat. @default {}
   */
  testTraffic?: Record<string, TestTraffic>;
  /** Link rate per device, bit/s; others use the device's speed, else 1 Gbit/s. @default {} */
  rates?: Record<string, number>;
  /** Class slots per link. @default 1024 */
  maxClasses?: number;
  /** Stage delays are recorded for one packet in this many of each class (LinkOptions.stageSample). @default 1 */
  stageSample?: number;
  /** Frames in the shared pool (per arbiter). @default 65536 */
  poolFrames?: number;
  /** Arbiter threads; devices are spread over them. @default 1 */
  arbiters?: number;
  /**
   * Take over a managed device's egress (src/attach/): its own IPv4/IPv6 traffic is
   * diverted to pspat, scheduled and sent on it. Native backends only. @default true
   */
  attach?: boolean;
  /**
   * How an attached device's diverted packets reach its capture clients: `ring` (the
   * diversion program copies each frame into its capture thread's BPF ring buffer in the
   * sender's system call; GSO super-packets and the like still take the capture pair, by
   * xdp), `xdp` (an XDP program on the capture pair hands them to AF_XDP sockets whose
   * memory is the frame pool: the kernel writes each packet into a frame), `packet`
   * (AF_PACKET sockets, read with recvmmsg), or `auto` (ring, else xdp, else packet:
   * whatever the kernel loads, said at start). @default 'auto'
   */
  capture?: CaptureMode;
  /** Capture client threads per attached device. @default 1 */
  captureThreads?: number;
  /**
   * Pool frames each capture client owns: the device's shared buffer. When its class
   * queues together hold more, further packets are dropped at capture (`captureDrops`)
   * before any class sees them, so it should cover the queues that fill (htb leaves hold
   * 1000 packets each by default). @default 4096
   */
  captureFrames?: number;
  /**
   * While the daemon cannot take an attached device's packets (killed, stopped, its
   * arbiter wedged): `open` lets them take the kernel's own path, unshaped — within 15 ms
   * of its end, or once a live daemon's heartbeat is `failOpenAfterMs` old, until it
   * beats again; `closed` keeps diverting them (they are lost until a daemon starts or
   * `pspat recover` runs). @default 'open'
   */
  fail?: FailMode;
  /**
   * How long a live daemon's heartbeat may go unstamped (stopped, its arbiter wedged)
   * before its attached devices fail open, ms. A daemon that ended fails open within 15
   * ms whatever this says. @default 100
   */
  failOpenAfterMs?: number;
  /**
   * Devices whose kernel tc configuration pspat follows (src/follow/): whatever writes it
   * through netlink (tc, pyroute2, CNI plugins) configures pspat, and `pspat tc` passes
   * their changes to the system's tc. `['all']`: every device but loopback. @default []
   */
  follow?: string[];
  /**
   * The devices pspat may manage, as names or shell-style patterns (`vnet*`, `tap?`):
   * `pspat tc` for any other device runs the system's tc, so pspat never takes a device
   * by surprise (a VM host: `['vnet*']`, libvirt's taps). @default ['*'] (every device)
   */
  devices?: string[];
  /** Where attach state is kept (RUN_DIR/attach), so a later start can undo a dead daemon's. @default /run/pspat */
  runDir?: string;
}

/** Whether `dev` is one of `patterns` (shell-style: `*` any run of characters, `?` one). */
export function deviceSelected(patterns: readonly string[], dev: string): boolean {
  return patterns.some((p) =>
    new RegExp(
      `^${p
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.')}$`,
    ).test(dev),
  );
}

/** Placement has no fixed defaults: what is left out follows the plan (src/placement.ts). */
export type ResolvedDaemonOptions = Required<Omit<DaemonOptions, keyof PlacementOptions>>;

export const DAEMON_DEFAULTS: ResolvedDaemonOptions = {
  testTraffic: {},
  rates: {},
  maxClasses: 1024,
  stageSample: 1,
  poolFrames: 65536,
  arbiters: 1,
  attach: true,
  capture: 'auto',
  captureThreads: 1,
  captureFrames: 4096,
  fail: 'open',
  failOpenAfterMs: 100,
  follow: [],
  devices: ['*'],
  runDir: DEFAULT_RUN_DIR,
  ...TRANSMIT_DEFAULTS,
};

/**
 * What a configuration file's `daemon:` may set: every option but where the daemon's
 * socket is (the command line's) and `dev` (each managed device is its own).
 */
export const DAEMON_CONFIG_KEYS: readonly (keyof DaemonOptions)[] = [
  ...(Object.keys(DAEMON_DEFAULTS) as (keyof ResolvedDaemonOptions)[]).filter((k) => k !== 'runDir' && k !== 'dev'),
  ...PLACEMENT_KEYS,
];

/** `options` with defaults, each field checked; throws naming the first bad one. */
const isMapping = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function intIn(field: string, v: unknown, lo: number, hi: number): void {
  if (!Number.isInteger(v) || (v as number) < lo || (v as number) > hi)
    throw new InvalidOptionError(field, `must be an integer in [${lo}, ${hi}], got ${JSON.stringify(v)}`);
}

function checkTestTraffic(t: unknown): void {
  if (!isMapping(t)) throw new InvalidOptionError('test-traffic', `must map devices to { ports, size }, got ${JSON.stringify(t)}`);
  for (const [dev, v] of Object.entries(t)) {
    if (!isMapping(v) || !Array.isArray(v.ports) || v.ports.length === 0)
      throw new InvalidOptionError('test-traffic', `${dev}: must be { ports: [...], size }, got ${JSON.stringify(v)}`);
    for (const p of v.ports) intIn(`test-traffic: ${dev}: ports`, p, 1, 65535);
    const size = v.size ?? DEFAULT_TEST_FRAME;
    if (!Number.isInteger(size) || (size as number) < MIN_TEST_FRAME || (size as number) > ARBITER_DEFAULTS.frameSize) {
      throw new InvalidOptionError(
        'test-traffic',
        `${dev}: frame size must be an integer in [${MIN_TEST_FRAME}, ${ARBITER_DEFAULTS.frameSize}] bytes, got ${JSON.stringify(size)}`,
      );
    }
  }
}

/** `options` with defaults, each field checked, whatever its type came as (a file may say anything); throws naming the first bad one. */
export function resolveDaemonOptions(options: DaemonOptions): ResolvedDaemonOptions {
  const o = withDefaults(DAEMON_DEFAULTS, options);
  intIn('arbiters', o.arbiters, 1, 64);
  intIn('max-classes', o.maxClasses, 1, 1 << 20);
  intIn('stage-sample', o.stageSample, 1, MAX_STAGE_SAMPLE);
  intIn('pool-frames', o.poolFrames, 1, 1 << 22);
  checkTestTraffic(o.testTraffic);
  if (!isMapping(o.rates) || Object.values(o.rates).some((r) => typeof r !== 'number' || !(r > 0 && r <= MAX_RATE))) {
    throw new InvalidOptionError('rates', `must map devices to rates in (0, ${MAX_RATE}] bit/s, got ${JSON.stringify(o.rates)}`);
  }
  // A typo must not silently discard a device's traffic: the backend and the rest of the
  // transmit fields are checked before anything starts (each device is its own target).
  checkTransmitOptions(o, false);
  if (typeof o.out !== 'string') throw new InvalidOptionError('out', `must be a file name prefix, got ${JSON.stringify(o.out)}`);
  if (typeof o.attach !== 'boolean') throw new InvalidOptionError('attach', `must be true or false, got ${JSON.stringify(o.attach)}`);
  intIn('capture-threads', o.captureThreads, 1, 64);
  // The pool's own limit is said when a device is taken over (`pool exhausted … raise poolFrames`).
  intIn('capture-frames', o.captureFrames, 256, 1 << 22);
  const follow: unknown = o.follow;
  const all = Array.isArray(follow) && follow.length === 1 && follow[0] === 'all';
  if (!Array.isArray(follow) || !(all || follow.every(isInterfaceName))) {
    throw new InvalidOptionError('follow', `must be a list of device names, or all, got ${JSON.stringify(o.follow)}`);
  }
  const devices: unknown = o.devices;
  if (!Array.isArray(devices) || devices.length === 0 || !devices.every((p) => typeof p === 'string' && /^[A-Za-z0-9_.@+*?-]{1,15}$/.test(p))) {
    throw new InvalidOptionError('devices', `must be a list of device names or patterns (vnet*, tap?), got ${JSON.stringify(o.devices)}`);
  }
  if (!(CAPTURE_MODES as readonly unknown[]).includes(o.capture))
    throw new InvalidOptionError('capture', `must be one of ${CAPTURE_MODES.join(', ')}, got ${JSON.stringify(o.capture)}`);
  if (o.fail !== 'open' && o.fail !== 'closed') throw new InvalidOptionError('fail', `must be open or closed, got ${JSON.stringify(o.fail)}`);
  // Below the liveness check's threshold it would mean nothing; below a few beats, a busy
  // host's scheduling delays would fail devices open while the daemon is fine.
  if (typeof o.failOpenAfterMs !== 'number' || !(o.failOpenAfterMs >= CHECK_NS / 1e6 && o.failOpenAfterMs <= 60_000)) {
    throw new InvalidOptionError('fail-open-after', `must be in [${CHECK_NS / 1e6}, 60000] ms, got ${JSON.stringify(o.failOpenAfterMs)}`);
  }
  if (typeof o.runDir !== 'string' || o.runDir === '') throw new InvalidOptionError('run-dir', `must be a directory, got ${JSON.stringify(o.runDir)}`);
  // Where the threads run: the plan checks CPUs, waits and priorities.
  planPlacement(options, o.arbiters);
  return o;
}
