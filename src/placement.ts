/**
 * CPU placement of the data path's threads (ARCHITECTURE.md, "CPUs are planned"). PSPAT's
 * arbiter owns a core and polls, so a packet never waits for a futex wake-up behind other
 * work; everything else (clients, transmit workers, the main thread) runs on the other
 * CPUs and parks when idle. Each worker places itself (`placeThisThread`) before it starts
 * work: Linux applies affinity and scheduling policy per thread.
 *
 * The default plan pins nothing and arbiters spin briefly, then park ('adaptive'). A CPU
 * of its own, polling, is what makes pspat's delay the kernel's (BENCHMARKS.md, bench e2e
 * on the 2-vCPU veth host: p99 76 µs placed against 218 µs unplaced, the kernel's htb
 * 88 µs), but two pspat processes on one host must not poll the same CPU: `pspat daemon`
 * claims one host-wide first (src/cpu-claims.ts, on hosts of 4 CPUs or more) and passes
 * it as `arbiterCpus`. Otherwise placement is asked for: with `arbiterCpus`, arbiter i gets its CPU, clients and
 * transmit workers default to the CPUs left, and an arbiter whose CPU no other planned
 * thread uses polls. Without the native addon (which sets affinity) nothing can be pinned:
 * a polling thread may only run on a CPU placed for it alone.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { InvalidOptionError, PspatError } from './errors.js';
import { tryNativeAddon } from './transmit/native.js';
import { errnoName } from './errno.js';
import { missingCapabilities } from './daemon/privileges.js';

/** How an idle arbiter waits: `poll` never parks (a CPU of its own); `adaptive` spins, then parks. */
export type ArbiterWait = 'poll' | 'adaptive';
export const ARBITER_WAITS = ['poll', 'adaptive'] as const;

/** Where one thread runs. */
export interface ThreadPlacement {
  /** CPUs the thread may run on; [] leaves its affinity as inherited. */
  cpus: number[];
  /** SCHED_FIFO priority (1–99); 0 keeps the normal policy. */
  priority: number;
  /** Under the normal policy, the thread's nice value (its CFS weight); 0 or left out: as inherited. */
  nice?: number;
}

export const UNPLACED: ThreadPlacement = { cpus: [], priority: 0 };
/** Highest SCHED_FIFO priority Linux takes. */
export const MAX_PRIORITY = 99;
/**
 * The arbiters' nice value by default, where the process may raise a thread's priority.
 * The kernel's qdisc runs in each sender's own system call, on that sender's CPU time; pspat
 * does that work for every sender in one thread, which under CFS at nice 0 gets one
 * thread's share of a busy host — and then the senders' packets wait for it, or are dropped
 * at capture. At nice −10 its weight is about nine nice-0 threads': enough to keep up with
 * the senders it serves, without taking a CPU from them while it has nothing to do (it
 * parks) — unlike a real-time priority, which the kernel's RT throttling then stops for 50
 * ms a second when it spins. `pspat bench egress` (BENCHMARKS.md): takeover at 0.80–0.85×
 * the kernel's packet rate at −10, 0.45–0.5× at 0.
 */
export const DEFAULT_ARBITER_NICE = -10;
/** Whether this thread may raise a thread's priority (CAP_SYS_NICE in its effective set). */
export function mayRaisePriority(): boolean {
  return missingCapabilities(['CAP_SYS_NICE']).length === 0;
}

/** What an operator may ask for (CLI flags / config keys); anything left out follows the default plan. */
export interface PlacementOptions {
  /** One CPU per arbiter thread. @default none: unpinned (see the module comment for why) */
  arbiterCpus?: number[];
  /** CPUs of client threads (generators, capture clients). @default the allowed CPUs the arbiters do not take */
  clientCpus?: number[];
  /** CPUs of transmit workers. @default the same as clientCpus */
  txCpus?: number[];
  /** `poll` or `adaptive`. @default poll when each arbiter has a CPU no other planned thread uses and normal priority, else adaptive */
  arbiterWait?: ArbiterWait;
  /** SCHED_FIFO priority of the arbiters (needs CAP_SYS_NICE). @default 0 (normal policy) */
  arbiterPriority?: number;
  /**
   * Nice value of the arbiters under the normal policy (−20–19; below 0 needs CAP_SYS_NICE).
   * @default DEFAULT_ARBITER_NICE where this process may raise a thread's priority, else 0
   */
  arbiterNice?: number;
  /** SCHED_FIFO priority of client threads. @default 0 */
  clientPriority?: number;
  /** SCHED_FIFO priority of transmit workers. @default 0 */
  txPriority?: number;
}

/** The PlacementOptions keys (the daemon's configuration file takes them too). */
export const PLACEMENT_KEYS = [
  'arbiterCpus',
  'clientCpus',
  'txCpus',
  'arbiterWait',
  'arbiterPriority',
  'arbiterNice',
  'clientPriority',
  'txPriority',
] as const satisfies readonly (keyof PlacementOptions)[];

/** A plan: one placement per arbiter, and one each for client threads and transmit workers. */
export interface PlacementPlan {
  arbiters: (ThreadPlacement & { nice: number; wait: ArbiterWait })[];
  clients: ThreadPlacement;
  tx: ThreadPlacement;
}

/** Parses a CPU list as taskset and cpusets write it: `3`, `0-2,5`. */
export function parseCpuList(text: string, field: string): number[] {
  const out: number[] = [];
  for (const part of text.split(',')) {
    const m = /^\s*(\d+)(?:-(\d+))?\s*$/.exec(part);
    if (!m) throw new InvalidOptionError(field, `expected a CPU list such as 3 or 0-2,5, got '${text}'`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo || hi - lo > 4095) throw new InvalidOptionError(field, `bad CPU range '${part.trim()}' in '${text}'`);
    for (let c = lo; c <= hi; c++) if (!out.includes(c)) out.push(c);
  }
  return out;
}

/** The CPUs this process may run on (its Cpus_allowed_list when first asked), in ascending order. */
export function allowedCpus(): number[] {
  // The first look, before placeProcess narrows this thread to the clients' CPUs: a plan
  // made again later (the daemon's start, a benchmark's runner) must see the same CPUs.
  startupCpus ??= readAllowedCpus();
  return startupCpus;
}

let startupCpus: number[] | undefined;

function readAllowedCpus(): number[] {
  try {
    const line = readFileSync('/proc/self/status', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Cpus_allowed_list:'));
    if (line) return parseCpuList(line.slice('Cpus_allowed_list:'.length), 'Cpus_allowed_list').sort((a, b) => a - b);
  } catch {
    // Not Linux's /proc: fall through to the count.
  }
  return Array.from({ length: availableParallelism() }, (_, i) => i);
}

function checkPriority(field: string, p: number | undefined): number {
  const v = p ?? 0;
  if (!Number.isInteger(v) || v < 0 || v > MAX_PRIORITY)
    throw new InvalidOptionError(field, `must be an integer in [0, ${MAX_PRIORITY}] (0: normal policy), got ${p}`);
  return v;
}

function checkNice(field: string, n: number | undefined, fallback: number): number {
  const v = n ?? fallback;
  if (!Number.isInteger(v) || v < -20 || v > 19) throw new InvalidOptionError(field, `must be an integer in [-20, 19], got ${n}`);
  return v;
}

function checkCpus(field: string, cpus: number[], allowed: number[]): number[] {
  // A configuration file may hold anything here; the CLI's parser gives a list.
  if (!Array.isArray(cpus)) throw new InvalidOptionError(field, `must be a list of CPUs, got ${JSON.stringify(cpus)}`);
  for (const c of cpus) {
    if (!allowed.includes(c)) throw new InvalidOptionError(field, `CPU ${c} is not one this process may use (allowed: ${allowed.join(',')})`);
  }
  return cpus;
}

/**
 * The plan for `arbiters` arbiter threads under `o`, over the CPUs `allowed`; `mayRaise`:
 * whether the arbiters may be given their default nice value. Throws an
 * InvalidOptionError naming the flag for a CPU outside `allowed`, a wrong count of
 * arbiter CPUs, a bad priority or nice value, or a placement asked for without the native addon.
 */
export function planPlacement(
  o: PlacementOptions,
  arbiters: number,
  allowed = allowedCpus(),
  canPin = tryNativeAddon() !== null,
  mayRaise = canPin && mayRaisePriority(),
): PlacementPlan {
  const arbiterPriority = checkPriority('arbiter-priority', o.arbiterPriority);
  // Under SCHED_FIFO a nice value means nothing.
  const nice = arbiterPriority > 0 ? 0 : checkNice('arbiter-nice', o.arbiterNice, mayRaise ? DEFAULT_ARBITER_NICE : 0);
  if (nice !== 0 && !canPin) throw new InvalidOptionError('arbiter-nice', 'a nice value for the arbiters needs the native addon (npm run build:native)');
  const clientPriority = checkPriority('client-priority', o.clientPriority);
  const txPriority = checkPriority('tx-priority', o.txPriority);
  if (o.arbiterWait !== undefined && !(ARBITER_WAITS as readonly string[]).includes(o.arbiterWait)) {
    throw new InvalidOptionError('arbiter-wait', `must be ${ARBITER_WAITS.join(' or ')}, got '${String(o.arbiterWait)}'`);
  }
  const explicit = o.arbiterCpus !== undefined || o.clientCpus !== undefined || o.txCpus !== undefined;
  if (!canPin) {
    if (explicit) throw new InvalidOptionError('arbiter-cpus', 'placing threads needs the native addon (npm run build:native)');
    // Unpinned, a polling arbiter could share a CPU with the threads that feed it.
    const wait = o.arbiterWait ?? 'adaptive';
    return {
      arbiters: Array.from({ length: arbiters }, () => ({ cpus: [], priority: arbiterPriority, nice, wait })),
      clients: { cpus: [], priority: clientPriority },
      tx: { cpus: [], priority: txPriority },
    };
  }
  let arbiterCpus: number[];
  if (o.arbiterCpus !== undefined) {
    arbiterCpus = checkCpus('arbiter-cpus', o.arbiterCpus, allowed);
    if (arbiterCpus.length !== arbiters) {
      throw new InvalidOptionError('arbiter-cpus', `one CPU per arbiter: ${arbiters} arbiter${arbiters === 1 ? '' : 's'}, ${arbiterCpus.length} CPUs given`);
    }
  } else {
    arbiterCpus = [];
  }
  const rest = allowed.filter((c) => !arbiterCpus.includes(c));
  const clientCpus = o.clientCpus !== undefined ? checkCpus('client-cpus', o.clientCpus, allowed) : rest;
  const txCpus = o.txCpus !== undefined ? checkCpus('tx-cpus', o.txCpus, allowed) : clientCpus;
  // Each arbiter owns its CPU only if no other planned thread may run there.
  const others = [...clientCpus, ...txCpus];
  const owned = arbiterCpus.length > 0 && arbiterCpus.every((c) => !others.includes(c)) && others.length > 0;
  // A real-time thread that never sleeps is what the kernel's RT throttling stops: 50 ms of
  // every second (sched_rt_runtime_us), and every packet waits through it (a p99 of 30-39
  // ms measured). At real-time priority a parked arbiter runs again within microseconds of
  // its doorbell, so it parks.
  const wait = o.arbiterWait ?? (owned && arbiterPriority === 0 ? 'poll' : 'adaptive');
  return {
    arbiters: Array.from({ length: arbiters }, (_, i) => ({ cpus: arbiterCpus.length > 0 ? [arbiterCpus[i]] : [], priority: arbiterPriority, nice, wait })),
    clients: { cpus: clientCpus.length === allowed.length ? [] : clientCpus, priority: clientPriority },
    tx: { cpus: txCpus.length === allowed.length ? [] : txCpus, priority: txPriority },
  };
}

/** One line per role, for the daemon's start-up message and `params` of benchmarks. */
export function describePlan(plan: PlacementPlan): string {
  const where = (p: ThreadPlacement): string =>
    `${p.cpus.length > 0 ? `CPU ${p.cpus.join(',')}` : 'any CPU'}${p.priority > 0 ? `, SCHED_FIFO ${p.priority}` : ''}${p.nice ? `, nice ${p.nice}` : ''}`;
  const arbiters = plan.arbiters.map((a, i) => `arbiter ${i} on ${where(a)} (${a.wait})`).join('; ');
  return `${arbiters}; clients on ${where(plan.clients)}; transmit workers on ${where(plan.tx)}`;
}

/** The calling thread is placed as `p` asked; an error says what failed for `who`. */
export class PlacementError extends PspatError {
  constructor(message: string) {
    super('ERR_PSPAT_PLACEMENT', message);
  }
}

/**
 * Places the calling thread (a worker's first act). Returns its kernel thread id, or −1
 * when the native addon is missing and nothing was asked. Throws a PlacementError naming
 * CAP_SYS_NICE when a real-time priority is refused.
 */
export function placeThisThread(p: ThreadPlacement, who: string): number {
  const addon = tryNativeAddon();
  if (addon === null) {
    if (p.cpus.length > 0 || p.priority > 0) throw new PlacementError(`${who}: placing threads needs the native addon (npm run build:native)`);
    return -1;
  }
  const r = addon.placeThread(0, Int32Array.from(p.cpus), p.priority, p.nice ?? 0);
  if (r < 0) {
    const name = errnoName(r);
    if ((name === 'EPERM' || name === 'EACCES') && p.priority > 0)
      throw new PlacementError(
        `${who}: SCHED_FIFO priority ${p.priority} needs CAP_SYS_NICE, which this process lacks (run as root, or leave out the priority)`,
      );
    if (name === 'EPERM' || name === 'EACCES')
      throw new PlacementError(`${who}: nice ${p.nice} needs CAP_SYS_NICE, which this process lacks (run as root, or give --arbiter-nice 0)`);
    throw new PlacementError(`${who}: placing on CPU ${p.cpus.join(',') || 'any'} priority ${p.priority} failed (${name})`);
  }
  return addon.threadId();
}

/**
 * Moves every thread this process has now (the main thread, V8's GC and compiler helpers,
 * libuv's pool) onto the clients' CPUs, so none of them lands on an arbiter's CPU; threads
 * started later inherit it from their creator, and arbiters then place themselves. Call
 * before starting arbiters. Does nothing when the plan leaves clients unpinned.
 */
export function placeProcess(plan: PlacementPlan): void {
  const addon = tryNativeAddon();
  if (addon === null || plan.clients.cpus.length === 0) return;
  const cpus = Int32Array.from(plan.clients.cpus);
  for (const tid of readdirSync('/proc/self/task')) addon.placeThread(Number(tid), cpus, 0, 0); // a thread that just ended: nothing to place
}

/** The ArbiterOptions fields of arbiter `i` under `plan`. */
export function arbiterPlacement(
  plan: PlacementPlan,
  i: number,
): { wait: ArbiterWait; placement: ThreadPlacement; clientPlacement: ThreadPlacement; txPlacement: ThreadPlacement } {
  const { wait, cpus, priority, nice } = plan.arbiters[i];
  return { wait, placement: { cpus, priority, nice }, clientPlacement: plan.clients, txPlacement: plan.tx };
}
