/**
 * tc's way of printing numbers (iproute2's tc_util.c): rates, sizes and times as `show`
 * prints them, shared by every kind's options and the statistics lines.
 */

const RATE_UNITS = ['bit', 'Kbit', 'Mbit', 'Gbit', 'Tbit'];

/**
 * tc's print_rate: divides by 1000 while the value is at least 1000 and either divides
 * evenly or is a million or more (integer division), so 30000000 is "30Mbit" and
 * 27766514 "27766Kbit".
 */
export function formatRate(bps: number): string {
  let r = Math.round(bps);
  let u = 0;
  while (u < RATE_UNITS.length - 1 && r >= 1000 && (r % 1000 === 0 || r >= 1_000_000)) {
    r = Math.floor(r / 1000);
    u++;
  }
  return `${r}${RATE_UNITS[u]}`;
}

/** tc's sprint_size. */
export function formatSize(bytes: number): string {
  const b = Math.round(bytes);
  if (b >= 1024 * 1024 && Math.abs(1024 * 1024 * Math.round(b / (1024 * 1024)) - b) < 1024) return `${Math.round(b / (1024 * 1024))}Mb`;
  if (b >= 1024 && Math.abs(1024 * Math.round(b / 1024) - b) < 16) return `${Math.round(b / 1024)}Kb`;
  return `${b}b`;
}

/** tc's sprint_time (µs in): three significant digits, as C's %.3g, in s, ms or us. */
export function formatTimeUs(us: number): string {
  const [v, unit] = us >= 1e6 ? [us / 1e6, 's'] : us >= 1e3 ? [us / 1e3, 'ms'] : [us, 'us'];
  return `${Number(v.toPrecision(3))}${unit}`;
}

/** tc's `%#x`: hex with 0x, except zero. */
export function hexAlt(n: number): string {
  return n === 0 ? '0' : `0x${n.toString(16)}`;
}
