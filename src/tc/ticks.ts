/**
 * The kernel's tick arithmetic as tc does it (iproute2's tc_core.c): htb and tbf take
 * their bursts as a transmit time in psched ticks, not bytes, and what `show` prints is
 * that time turned back into bytes — with both conversions truncating, so `burst 15k` at
 * 100 Mbit/s reads back as 15337b. A tick is 1/tickInUsec µs, from /proc/net/psched.
 */
import { readFileSync } from 'node:fs';

const USEC_PER_SEC = 1e6;
/** Modern kernels: 1000 ns per µs over 64 ns per tick. */
const DEFAULT_TICK_IN_USEC = 15.625;
let tickInUsec: number | undefined;

/** Ticks per µs, read once as tc_core_init reads it. */
export function ticksPerUsec(): number {
  if (tickInUsec !== undefined) return tickInUsec;
  tickInUsec = DEFAULT_TICK_IN_USEC;
  try {
    const [t2us, us2t, clockRes] = readFileSync('/proc/net/psched', 'utf8')
      .trim()
      .split(/\s+/)
      .map((w) => parseInt(w, 16));
    if (t2us > 0 && us2t > 0 && clockRes > 0) tickInUsec = ((clockRes === 1e9 ? us2t : t2us) / us2t) * (clockRes / USEC_PER_SEC);
  } catch {
    // No procfs: the modern kernels' value.
  }
  return tickInUsec;
}

/** tc_calc_xmittime: ticks to send `size` bytes at `rateBytes` B/s (the µs truncated, then the ticks). */
export function xmitTicks(rateBytes: number, size: number): number {
  return Math.floor(Math.floor((USEC_PER_SEC * size) / rateBytes) * ticksPerUsec());
}

/** tc_core_tick2time: whole µs in `ticks`. */
export function ticksToUsec(ticks: number): number {
  return Math.floor(ticks / ticksPerUsec());
}

/** tc_calc_xmitsize: bytes sent in `ticks` at `rateBytes` B/s (the µs truncated, then the bytes). */
export function xmitSize(rateBytes: number, ticks: number): number {
  return Math.floor((rateBytes * ticksToUsec(ticks)) / USEC_PER_SEC);
}

/** `bytes` held in a bucket filling at `rateBytes` B/s, as the kernel reports tokens: the time's ticks (ns >> 6 on modern kernels). */
export function tokenTicks(rateBytes: number, bytes: number): number {
  return Math.floor(((USEC_PER_SEC * bytes) / rateBytes) * ticksPerUsec());
}

/**
 * The kernel's psched_l2t_ns: ns to send `len` bytes at `rateBytes` B/s, with the
 * multiply-and-shift psched_ratecfg_precompute sets up (BigInt: the product needs 64 bits).
 */
function l2tNs(rateBytes: number, len: number): bigint {
  const rate = BigInt(Math.floor(rateBytes));
  let factor = 1_000_000_000n;
  let mult = 1n;
  let shift = 0n;
  if (rate > 0n) {
    for (;;) {
      mult = factor / rate;
      if ((mult & (1n << 31n)) !== 0n || (factor & (1n << 63n)) !== 0n) break;
      factor <<= 1n;
      shift++;
    }
  }
  return (BigInt(len) * mult) >> shift;
}

/**
 * A bucket the kernel sized itself from bytes (tbf's TCA_TBF_BURST and PBURST: the kernel
 * takes tc's bytes and computes the time), in the ticks it reports: ns >> 6 on modern
 * kernels, whole ticks of 1/ticksPerUsec µs in general.
 */
export function kernelTicks(rateBytes: number, bytes: number): number {
  return Math.floor((Number(l2tNs(rateBytes, bytes)) * ticksPerUsec()) / 1000);
}

/** A burst as the kernel stores it (a transmit time in ticks at `rate` bit/s) and tc prints it back, in bytes. */
export function storedBurst(rate: number, bytes: number): number {
  return xmitSize(rate / 8, xmitTicks(rate / 8, bytes));
}
