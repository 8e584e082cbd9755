/**
 * tc's units (tc(8), "PARAMETERS"), case-insensitive, with decimals:
 *   rates  bit (or a bare number), kbit, mbit, gbit, tbit: bits per second;
 *          bps, kbps, mbps, gbps, tbps: bytes per second; SI (1000) multipliers, and the
 *          IEC forms kibit, mibit… (1024) that tc also accepts.
 *   sizes  b (or bare), k/kb, m/mb, g/gb: bytes (1024 multipliers); kbit, mbit, gbit: bits.
 *   times  s/sec/secs, ms/msec/msecs, us/usec/usecs (or bare: microseconds).
 * Rates beyond 2^32 bit/s are allowed (tc's 64-bit rates).
 */
import { InvalidOptionError } from './errors.js';

const RATE_UNITS: Record<string, number> = {
  '': 1,
  bit: 1,
  kbit: 1e3,
  mbit: 1e6,
  gbit: 1e9,
  tbit: 1e12,
  kibit: 1024,
  mibit: 1024 ** 2,
  gibit: 1024 ** 3,
  tibit: 1024 ** 4,
  bps: 8,
  kbps: 8e3,
  mbps: 8e6,
  gbps: 8e9,
  tbps: 8e12,
  kibps: 8 * 1024,
  mibps: 8 * 1024 ** 2,
  gibps: 8 * 1024 ** 3,
  tibps: 8 * 1024 ** 4,
};

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  kbit: 1024 / 8,
  mbit: 1024 ** 2 / 8,
  gbit: 1024 ** 3 / 8,
};

const TIME_UNITS_US: Record<string, number> = {
  '': 1,
  s: 1e6,
  sec: 1e6,
  secs: 1e6,
  ms: 1e3,
  msec: 1e3,
  msecs: 1e3,
  us: 1,
  usec: 1,
  usecs: 1,
};

function parseWithUnit(field: string, text: string, units: Record<string, number>, what: string): number {
  const m = /^\s*([0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)\s*([a-z]*)\s*$/i.exec(String(text));
  const mult = m ? units[m[2].toLowerCase()] : undefined;
  if (!m || mult === undefined) {
    throw new InvalidOptionError(
      field,
      `invalid ${what} '${text}' (e.g. ${Object.keys(units)
        .filter(Boolean)
        .slice(0, 4)
        .map((u) => `10${u}`)
        .join(', ')})`,
    );
  }
  return Number(m[1]) * mult;
}

/** A rate in bit/s. */
export function parseRate(text: string, field = 'rate'): number {
  return parseWithUnit(field, text, RATE_UNITS, 'rate');
}

/** A size in bytes (rounded down to a whole byte). */
export function parseSize(text: string, field = 'size'): number {
  return Math.floor(parseWithUnit(field, text, SIZE_UNITS, 'size'));
}

/** A time in microseconds. */
export function parseTimeUs(text: string, field = 'time'): number {
  return parseWithUnit(field, text, TIME_UNITS_US, 'time');
}
