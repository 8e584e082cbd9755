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
