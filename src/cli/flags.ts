/**
 * Typed flag tables: one entry per field of an options interface, so no option ships
 * without a flag or an explicit `null` (with the reason beside it). `addFlags` turns a
 * table into commander options, showing each field's default.
 */
import type { Command } from 'commander';
import type { PlacementOptions } from '../placement.js';
import type { DaemonOptions } from '../daemon/options.js';
import { BACKENDS } from '../transmit/ports.js';
import { intArg } from './parse.js';
import { parseCpuList } from '../placement.js';

export type FlagSpec = [flags: string, help: string, parse?: (v: string) => unknown] | null;
export type FlagTable<T> = Record<keyof T, FlagSpec>;

/** Adds `table`'s flags to `cmd`; `defaults` (when given) are shown in each help line. */
export function addFlags<T>(cmd: Command, table: FlagTable<T>, defaults?: Partial<Record<keyof T, unknown>>): Command {
  for (const [key, spec] of Object.entries(table) as [keyof T, FlagSpec][]) {
    if (spec === null) continue;
    const [flags, help, parse] = spec;
    const def = defaults?.[key];
    // Nothing to show for an empty default, or for a --no-… flag (its default is "on").
    const shown = def !== undefined && def !== '' && !flags.startsWith('--no-');
    const desc = shown ? `${help} (default: ${Array.isArray(def) ? def.join(',') : String(def)})` : help;
    if (parse) cmd.option(flags, desc, parse as (v: string) => unknown);
    else cmd.option(flags, desc);
  }
  return cmd;
}

/** Where commander stores a flag's value: its long name in camelCase (`--frames <n>` → frames, `--no-attach` → attach). */
function attributeOf(flags: string): string {
  const long = /--(?:no-)?([a-z0-9-]+)/.exec(flags)![1];
  return long.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/**
 * The fields of `table` whose flags were given on `cmd`'s command line, under the table's
 * keys — a flag named otherwise than its field (`--frames` for framesPerClient) lands on
 * its field. A flag's own default (`--no-attach` leaves attach true) is not "given", so
 * it does not override a configuration file.
 */
export function pickFlags<T>(table: FlagTable<T>, cmd: Command): Partial<T> {
  const out: Partial<T> = {};
  const opts = cmd.opts();
  for (const [key, spec] of Object.entries(table) as [keyof T & string, FlagSpec][]) {
    if (spec === null) continue;
    const attr = attributeOf(spec[0]);
    if (opts[attr] !== undefined && cmd.getOptionValueSource(attr) !== 'default') out[key] = opts[attr] as T[keyof T & string];
  }
  return out;
}

/** The frame pool's size: the daemon's per arbiter, bench arbiter's shared out among its clients. */
export const POOL_FRAMES_FLAG: FlagSpec = ['--pool-frames <n>', "frames in each arbiter's pool", intArg('pool-frames')];

/** On every command that runs links: the stage histograms' sampling (LinkOptions.stageSample). */
export const STAGE_SAMPLE_FLAG: FlagSpec = [
  '--stage-sample <n>',
  'record the stage delays (mailbox, queue, tx) of one packet in N per class; reports say so (1: every packet)',
  intArg('stage-sample'),
];

const cpus = (field: string) => (v: string) => parseCpuList(v, field);

/** Thread placement, the same on `pspat daemon`, `demo` and `bench` (src/placement.ts). */
export const PLACEMENT_FLAGS: FlagTable<PlacementOptions> = {
  arbiterCpus: [
    '--arbiter-cpus <list>',
    'one CPU per arbiter; it polls there when no other planned thread may use it (default: unpinned)',
    cpus('arbiter-cpus'),
  ],
  clientCpus: [
    '--client-cpus <list>',
    'CPUs of client threads: generators, capture (default: the CPUs the arbiters leave; unpinned without --arbiter-cpus)',
    cpus('client-cpus'),
  ],
  txCpus: ['--tx-cpus <list>', 'CPUs of transmit workers (default: the client CPUs)', cpus('tx-cpus')],
  arbiterWait: [
    '--arbiter-wait <mode>',
    'poll (never park: a CPU of its own) | adaptive (spin, then park) (default: poll when --arbiter-cpus gives the arbiter a CPU of its own)',
  ],
  arbiterPriority: [
    '--arbiter-priority <n>',
    'SCHED_FIFO priority 1-99 of the arbiters, needs CAP_SYS_NICE (default: 0, normal policy)',
    intArg('arbiter-priority'),
  ],
  arbiterNice: [
    '--arbiter-nice <n>',
    'nice value -20..19 of the arbiters under the normal policy: their CPU weight against the senders they schedule for; below 0 needs CAP_SYS_NICE (default: -10 where this process may raise priorities, else 0)',
    intArg('arbiter-nice'),
  ],
  clientPriority: ['--client-priority <n>', 'SCHED_FIFO priority of client threads (default: 0)', intArg('client-priority')],
  txPriority: ['--tx-priority <n>', 'SCHED_FIFO priority of transmit workers (default: 0)', intArg('tx-priority')],
};

/** Every daemon option (src/daemon/options.ts), as `pspat daemon` takes it. */
export const DAEMON_FLAGS: FlagTable<DaemonOptions> = {
  backend: ['--backend <name>', `transmit backend for managed devices: ${BACKENDS.join(' | ')}`],
  out: ['--out <prefix>', 'pcap backend: device DEV is written to PREFIX.DEV.pcap (default: RUN_DIR/DEV.pcap)'],
  dev: null, // each managed device is its own target: tc names it
  queue: ['--queue <n>', 'afxdp: the device queue to bind (worker i of --tx-workers: queue + i)', intArg('queue')],
  xdpMode: ['--xdp-mode <mode>', 'afxdp: copy | zerocopy | auto'],
  txWorkers: ['--tx-workers <n>', 'transmit workers per device (0: inline)', intArg('tx-workers')],
  rates: null, // repeatable DEV=RATE: daemon-command.ts's --rate accumulates them
  testTraffic: null, // repeatable DEV=PORTS/SIZE: daemon-command.ts's --test-traffic accumulates them
  maxClasses: ['--max-classes <n>', 'class slots per device', intArg('max-classes')],
  stageSample: STAGE_SAMPLE_FLAG,
  poolFrames: POOL_FRAMES_FLAG,
  arbiters: ['--arbiters <n>', 'arbiter threads, devices spread over them', intArg('arbiters')],
  attach: ['--no-attach', "with afxdp/afpacket: do not take over managed devices' egress (only pspat clients then feed them)"],
  capture: [
    '--capture <mode>',
    "how attached devices' packets are captured: ring (copied into a ring in the sender's system call, the rest by xdp) | xdp (straight into the frame pool) | packet (AF_PACKET sockets) | auto (ring, else xdp, else packet: what loads)",
  ],
  captureThreads: ['--capture-threads <n>', 'capture client threads per attached device', intArg('capture-threads')],
  captureFrames: ['--capture-frames <n>', "pool frames per capture client: the device's buffer in front of its class queues", intArg('capture-frames')],
  runDir: ['--run-dir <dir>', 'where the control socket and attach state live (default: $PSPAT_RUN_DIR or /run/pspat)'],
  // What an attached device does while the daemon cannot take its packets (src/attach/divert.ts).
  fail: [
    '--fail <mode>',
    "open: a dead, stopped or wedged daemon's devices send on the kernel's own path, unshaped | closed: their IP traffic stays diverted and is lost until a restart or pspat recover",
  ],
  devices: [
    '--devices <patterns>',
    'the devices pspat may manage, names or patterns: vnet*,tap? (default: every device); pspat tc for others runs the system tc',
    (v: string) => v.split(','),
  ],
  follow: [
    '--follow <devs>',
    "follow these devices' kernel tc configuration, however it is written (tc, netlink clients): DEV[,DEV...] or all",
    (v: string) => v.split(','),
  ],
  failOpenAfterMs: [
    '--fail-open-after <ms>',
    "how long a stopped or wedged daemon's heartbeat may be missed before its devices fail open (an ended daemon's fail open within 15 ms)",
    intArg('fail-open-after'),
  ],
  ...PLACEMENT_FLAGS,
};
