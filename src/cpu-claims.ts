/**
 * Host-wide claims on CPUs, so a default plan can give an arbiter a CPU of its own
 * without two pspat processes polling the same one: a claim is a file named after the CPU
 * in CLAIMS_DIR (/run/pspat-cpus, whatever a daemon's run directory), created with O_EXCL
 * and holding the claimer's pid. A claim whose process is gone (kill -9, a crash) is
 * stale and taken over; a process gives its claims back when it ends (`releaseCpus`),
 * and the kernel's pid check covers the rest.
 */
import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive } from './pids.js';

export const CLAIMS_DIR = '/run/pspat-cpus';

const mine = new Set<string>();

/** Claims `cpu` for this process; false when a live process holds it (or claims cannot be kept here). */
export function claimCpu(cpu: number, dir = CLAIMS_DIR): boolean {
  const path = join(dir, `cpu${cpu}`);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
  } catch {
    return false;
  }
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, `${process.pid}\n`, { flag: 'wx', mode: 0o644 });
      mine.add(path);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') return false;
    }
    // Held: by a live process, or stale (its claimer is gone), then removed and tried again.
    let holder = NaN;
    try {
      holder = Number(readFileSync(path, 'utf8').trim());
    } catch {
      continue; // released meanwhile
    }
    if (holder === process.pid) return true;
    if (Number.isInteger(holder) && holder > 0 && isAlive(holder)) return false;
    try {
      unlinkSync(path);
    } catch {
      // Someone else took the stale claim over first; the next attempt says whose it is.
    }
  }
  return false;
}

/** Gives back this process's claim on `cpu`. */
export function releaseCpu(cpu: number, dir = CLAIMS_DIR): void {
  const path = join(dir, `cpu${cpu}`);
  if (!mine.delete(path)) return;
  try {
    unlinkSync(path);
  } catch {
    // Already gone.
  }
}

/** Gives back every CPU this process claimed. */
export function releaseCpus(): void {
  for (const path of mine) {
    try {
      unlinkSync(path);
    } catch {
      // Already gone.
    }
  }
  mine.clear();
}

/** Smallest host that gets a dedicated arbiter CPU by default: below it, a polling thread would take too large a share of the host. */
export const DEDICATED_MIN_CPUS = 4;

/**
 * The default plan's arbiter CPUs: on a host with at least DEDICATED_MIN_CPUS allowed,
 * one per arbiter from the highest CPU down, each claimed host-wide (`claim`), leaving at
 * least half the CPUs to everything else; none (unpinned, parking) otherwise, or when too
 * few could be claimed.
 */
export function defaultArbiterCpus(
  allowed: readonly number[],
  arbiters: number,
  claim: (cpu: number) => boolean = claimCpu,
  release: (cpu: number) => void = releaseCpu,
): number[] {
  if (allowed.length < DEDICATED_MIN_CPUS || arbiters > Math.floor(allowed.length / 2)) return [];
  const got: number[] = [];
  for (const cpu of [...allowed].sort((a, b) => b - a)) {
    if (got.length === arbiters) break;
    if (claim(cpu)) got.push(cpu);
  }
  if (got.length === arbiters) return got;
  for (const cpu of got) release(cpu);
  return [];
}
