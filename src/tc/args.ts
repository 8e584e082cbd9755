/**
 * A cursor over a tc command line, with tc's own rules for words and values:
 *   - commands and keywords may be abbreviated to any prefix (tc's `matches()`:
 *     `tc qd sh` is `tc qdisc show`), except where the keyword table says exact;
 *   - rates, sizes and times take tc's units (src/units.ts), and a bad one is tc's
 *     `Illegal "rate"` with exit status 1;
 *   - a keyword given twice is tc's `duparg` (exit 255).
 */
import { parseRate, parseSize, parseTimeUs } from '../units.js';
import { badArg, duplicateArg } from './errors.js';

/** True if `word` is a non-empty prefix of `keyword` (tc's matches() == 0). */
export function matches(word: string | undefined, keyword: string): boolean {
  return word !== undefined && word.length > 0 && keyword.startsWith(word);
}

export class TcArgs {
  private i = 0;
  private readonly seen = new Set<string>();

  constructor(private readonly argv: readonly string[]) {}

  get done(): boolean {
    return this.i >= this.argv.length;
  }

  peek(): string | undefined {
    return this.argv[this.i];
  }

  /** The next word; a missing one is tc's "Command line is not complete". */
  next(): string {
    const w = this.argv[this.i++];
    if (w === undefined) throw badArg('Command line is not complete. Try option "help"');
    return w;
  }

  /** Consumes the next word if it is (a prefix of) `keyword`. */
  take(keyword: string): boolean {
    if (!matches(this.peek(), keyword)) return false;
    this.i++;
    return true;
  }

  /** Consumes the next word if it equals `keyword` exactly. */
  takeExact(keyword: string): boolean {
    if (this.peek() !== keyword) return false;
    this.i++;
    return true;
  }

  /** Records that `key` was given; a second time is tc's duparg. */
  once(key: string, value: string): void {
    if (this.seen.has(key)) throw duplicateArg(key, value);
    this.seen.add(key);
  }

  /** Whether `word` is among the words not consumed yet. */
  ahead(word: string): boolean {
    return this.argv.indexOf(word, this.i) >= 0;
  }

  /** The words not consumed yet. */
  rest(): string[] {
    const r = this.argv.slice(this.i);
    this.i = this.argv.length;
    return r;
  }

  /** A value in tc's units, at least `min`; anything else is tc's `Illegal "name"`. */
  private measure(name: string, parse: (text: string, field: string) => number, min: number): number {
    const v = this.next();
    let n = NaN;
    try {
      n = parse(v, name);
    } catch {
      // tc's own wording below, not the unit parser's.
    }
    if (!(n >= min)) throw badArg(`Illegal "${name}"`);
    return n;
  }

  /** A rate in bit/s, more than 0. */
  rate(name: string): number {
    return this.measure(name, parseRate, Number.MIN_VALUE);
  }

  /** A size in bytes. */
  size(name: string): number {
    return this.measure(name, parseSize, 0);
  }

  /** A time in µs. */
  time(name: string): number {
    return this.measure(name, parseTimeUs, 0);
  }

  /** An unsigned integer in [lo, hi], decimal or 0x-hex (tc's get_u32 with base 0). */
  uint(name: string, lo = 0, hi = 0xffffffff): number {
    const v = this.next();
    const n = parseUint(v);
    if (n === undefined || n < lo || n > hi) throw badArg(`Illegal "${name}"`);
    return n;
  }

  /** tc's `burst SIZE[/CELL]`: the cell log only matters to the kernel's rate tables. */
  burst(name: string): number {
    const [size] = this.next().split('/');
    return new TcArgs([size]).size(name);
  }
}

/** Decimal, 0x-hex or 0-octal, as strtoul(…, 0) reads it; undefined if not a number. */
export function parseUint(text: string): number | undefined {
  if (/^0x[0-9a-f]+$/i.test(text)) return parseInt(text, 16);
  if (/^0[0-7]+$/.test(text)) return parseInt(text, 8);
  if (/^[0-9]+$/.test(text)) return Number(text);
  return undefined;
}
