/** Flag value parsers for commander: a bad value is an InvalidOptionError naming the flag. */
import { InvalidOptionError } from '../errors.js';

export function numberArg(field: string) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n)) throw new InvalidOptionError(field, `not a number: '${v}'`);
    return n;
  };
}

export function intArg(field: string) {
  return (v: string): number => {
    const n = numberArg(field)(v);
    if (!Number.isInteger(n)) throw new InvalidOptionError(field, `not an integer: '${v}'`);
    return n;
  };
}

/** A comma-separated list of integers (`1,2,4`). */
export function listArg(field: string) {
  return (v: string): number[] => v.split(',').map(intArg(field));
}

/** `--timeout SECONDS` for requests to the daemon: milliseconds, > 0. */
export function timeoutArg(v: string): number {
  const s = numberArg('timeout')(v);
  if (!(s > 0 && s <= 3600)) throw new InvalidOptionError('timeout', `must be in (0, 3600] seconds, got '${v}'`);
  return s * 1000;
}
