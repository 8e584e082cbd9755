/**
 * Typed flag tables: one entry per field of an options interface, so no option ships
 * without a flag or an explicit `null` (with the reason beside it). `addFlags` turns a
 * table into commander options, showing each field's default.
 */
import type { Command } from 'commander';
import type { PlacementOptions } from '../placement.js';
import type { DaemonOptions } from '../daemon/daemon.js';
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
    const desc = def === undefined ? help : `${help} (default: ${Array.isArray(def) ? def.join(',') : String(def)})`;
    if (parse) cmd.option(flags, desc, parse as (v: string) => unknown);
    else cmd.option(flags, desc);
  }
  return cmd;
}

/** Where commander stores a flag's value: its long name in camelCase (`--frames <n>` → frames). */
function attributeOf(flags: string): string {
  const long = /--([a-z0-9-]+)/.exec(flags)![1];
  return long.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/**
 * The fields of `table` that `opts` (commander's parsed flags) has set, under the
 * table's keys — a flag named otherwise than its field (`--frames` for framesPerClient)
 * lands on its field.
 */
export function pickFlags<T>(table: FlagTable<T>, opts: Record<string, unknown>): Partial<T> {
  const out: Partial<T> = {};
  for (const [key, spec] of Object.entries(table) as [keyof T & string, FlagSpec][]) {
    if (spec === null) continue;
    const v = opts[attributeOf(spec[0])];
    if (v !== undefined) out[key] = v as T[keyof T & string];
  }
  return out;
}

const cpus = (field: string) => (v: string) => parseCpuList(v, field);

/** Thread placement, the same on `pspat daemon`, `demo` and `bench` (src/placement.ts). */
export const PLACEMENT_FLAGS: FlagTable<PlacementOptions> = {
  arbiterCpus: ['--arbiter-cpus <list>', 'one CPU per arbiter; it polls there when no other planned thread may use it (default: unpinned)', cpus('arbiter-cpus')],
  clientCpus: ['--client-cpus <list>', 'CPUs of client threads: generators, capture (default: the CPUs the arbiters leave; unpinned without --arbiter-cpus)', cpus('client-cpus')],
  txCpus: ['--tx-cpus <list>', 'CPUs of transmit workers (default: the client CPUs)', cpus('tx-cpus')],
  arbiterWait: ['--arbiter-wait <mode>', 'poll (never park: a CPU of its own) | adaptive (spin, then park) (default: poll when --arbiter-cpus gives the arbiter a CPU of its own)'],
  arbiterPriority: ['--arbiter-priority <n>', 'SCHED_FIFO priority 1-99 of the arbiters, needs CAP_SYS_NICE (default: 0, normal policy)', intArg('arbiter-priority')],
  clientPriority: ['--client-priority <n>', 'SCHED_FIFO priority of client threads (default: 0)', intArg('client-priority')],
  txPriority: ['--tx-priority <n>', 'SCHED_FIFO priority of transmit workers (default: 0)', intArg('tx-priority')],
};

/** What an attached device does while the daemon cannot take its packets (src/attach/divert.ts). */
export const FAIL_FLAGS: FlagTable<Pick<DaemonOptions, 'fail' | 'failOpenAfterMs'>> = {
  fail: ['--fail <mode>', "open: a dead, stopped or wedged daemon's devices send on the kernel's own path, unshaped | closed: their IP traffic stays diverted and is lost until a restart or pspat recover"],
  failOpenAfterMs: ['--fail-open-after <ms>', "how long a stopped or wedged daemon's heartbeat may be missed before its devices fail open (an ended daemon's fail open within 15 ms)", intArg('fail-open-after')],
};
