/**
 * tc's size tables (`stab`, tc-stab(8); iproute2's tc_stab.c and tc_core.c): the options,
 * the table tc computes from them and sends with the root qdisc, and how `show -d` prints
 * them back. The table charges each packet what its link layer carries (ATM cells for
 * DSL) plus an overhead; the arbiter applies it (schedulers/size-table.ts).
 *
 *   stab [ mtu BYTES ] [ tsize SLOTS ] [ mpu BYTES ] [ overhead BYTES ] [ linklayer TYPE ]
 *
 * The kernel applies the root qdisc's table only, and refuses one anywhere else.
 */
import { matches, type TcArgs } from './args.js';
import { parseLinklayer } from './linklayer.js';
import { atmCells, type SizeTableParams } from '../../schedulers/size-table.js';
import { duplicateArg, invalidArg, TcError, TC_EXIT_BAD_HANDLE, TC_EXIT_REJECTED } from './errors.js';
import { type Attrs, LINKLAYER_ATM, parseAttrs } from './netlink-attrs.js';

/** linux/pkt_sched.h's enum tc_link_layer. */
const LINKLAYER_UNSPEC = 0;
const LINKLAYER_ETHERNET = 1;
const LINKLAYER_NAMES = ['unspec', 'ethernet', 'atm'];

/** No size table: what a qdisc without `stab` has. */
export const NO_STAB: SizeSpec = { linklayer: LINKLAYER_UNSPEC, overhead: 0, mpu: 0, mtu: 0, tsize: 0 };

/** tc's defaults when a table is built: the largest packet it covers, and its slots. */
const DEFAULT_MTU = 2047;
const DEFAULT_TSIZE = 512;
/** A table longer than this does not fit tc's netlink message (its u16 entries in 64 KiB, beside the rest). */
const MAX_TSIZE = 32_000;

/** struct tc_sizespec as tc sends it and the kernel shows it: the options with tc's defaults filled in. */
export interface SizeSpec {
  linklayer: number;
  overhead: number;
  mpu: number;
  mtu: number;
  tsize: number;
}

const USAGE = `Usage: ... stab [ mtu BYTES ] [ tsize SLOTS ] [ mpu BYTES ]
                [ overhead BYTES ] [ linklayer TYPE ] ...
   mtu       : max packet size we create rate map for {2047}
   tsize     : how many slots should size table have {512}
   mpu       : minimum packet size used in rate computations
   overhead  : per-packet size overhead used in rate computations
   linklayer : adapting to a linklayer e.g. atm
Example: ... stab overhead 20 linklayer atm`;

/** Whether the table holds entries (tc builds none for Ethernet without an mpu: only the overhead applies). */
function hasTable(linklayer: number, mpu: number): boolean {
  return linklayer > LINKLAYER_ETHERNET || mpu !== 0;
}

/** The options, in the order tc tries them on an abbreviation (`m` is mtu). */
const OPTIONS = ['mtu', 'mpu', 'overhead', 'tsize', 'linklayer'] as const;

const uint32 = (w: string) => (/^[0-9]+$/.test(w) && Number(w) <= 0xffffffff ? Number(w) : undefined);
const int32 = (w: string) => (/^-?[0-9]+$/.test(w) && Math.abs(Number(w)) <= 0x7fffffff ? Number(w) : undefined);

/** The options after `stab`, as parse_size_table reads them and tc_calc_size_table completes them. */
export function parseStab(a: TcArgs): SizeSpec {
  if (a.take('help')) throw new TcError(TC_EXIT_BAD_HANDLE, USAGE);
  const s: SizeSpec = { ...NO_STAB };
  const given = new Set<string>();
  while (!a.done) {
    const key = OPTIONS.find((k) => matches(a.peek(), k));
    if (key === undefined) break; // the rest is the command's
    a.next();
    const text = a.next();
    if (given.has(key)) throw duplicateArg(key, text);
    given.add(key);
    const n = key === 'linklayer' ? linklayerOf(text) : key === 'overhead' ? int32(text) : uint32(text);
    if (n === undefined) throw invalidArg(`invalid ${key}`, key);
    s[key] = n;
  }
  // tc fails such a stab without a word (exit 255): say what is missing.
  if (stabWords(s).length === 0) throw new TcError(TC_EXIT_BAD_HANDLE, 'Error: "stab" sets nothing: give it mtu, tsize, mpu, overhead or linklayer.');
  if (!hasTable(s.linklayer, s.mpu)) return { ...s, tsize: 0 };
  const spec = { ...s, mtu: s.mtu || DEFAULT_MTU, tsize: s.tsize || DEFAULT_TSIZE };
  if (spec.tsize > MAX_TSIZE) throw new TcError(TC_EXIT_REJECTED, 'Error: Size table data attribute is missing.');
  return spec;
}

function linklayerOf(w: string): number | undefined {
  const l = parseLinklayer(w);
  return l === undefined ? undefined : l === 'atm' ? LINKLAYER_ATM : LINKLAYER_ETHERNET;
}

/** What a packet of `size` bytes costs on the link layer: at least the mpu; whole ATM cells on ATM. */
function adjustSize(size: number, mpu: number, linklayer: number): number {
  const sz = Math.max(size, mpu);
  return linklayer === LINKLAYER_ATM ? atmCells(sz) : sz;
}

/** The slots' width, as a power of two: the smallest that covers the mtu in `tsize` slots. */
function cellLogOf(mtu: number, tsize: number): number {
  let log = 0;
  while (mtu >> log > tsize - 1) log++;
  return log;
}

/** The table tc sends with the spec (tc_calc_size_table): slot i holds slot i's top size, adjusted; entries are u16. */
export function sizeTableParams(s: SizeSpec): SizeTableParams {
  if (s.tsize === 0) return { overhead: s.overhead, cellLog: 0, sizeLog: 0, cellAlign: 0, data: [] };
  const cellLog = cellLogOf(s.mtu, s.tsize);
  const linklayer = s.linklayer === LINKLAYER_UNSPEC ? LINKLAYER_ETHERNET : s.linklayer;
  const data = Array.from({ length: s.tsize }, (_, i) => adjustSize((i + 1) << cellLog, s.mpu, linklayer) & 0xffff);
  return { overhead: s.overhead, cellLog, sizeLog: 0, cellAlign: -1, data };
}

/** Whether the spec changes any packet's length (a bare `linklayer ethernet` does not). */
export function chargesDifferently(s: SizeSpec): boolean {
  return s.overhead !== 0 || s.tsize > 0;
}

/** The fields `show -d` prints, in tc's order, the zero ones left out. */
function shown(s: SizeSpec): [string, string | number][] {
  const out: [string, string | number][] = [];
  if (s.linklayer) out.push(['linklayer', LINKLAYER_NAMES[s.linklayer] ?? String(s.linklayer)]);
  if (s.overhead) out.push(['overhead', s.overhead]);
  if (s.mpu) out.push(['mpu', s.mpu]);
  if (s.mtu) out.push(['mtu', s.mtu]);
  if (s.tsize) out.push(['tsize', s.tsize]);
  return out;
}

/** The line `qdisc show -d` prints under the qdisc: a space, then each field and a space. */
export function stabLine(s: SizeSpec): string {
  return ` ${shown(s)
    .map(([k, v]) => `${k} ${v} `)
    .join('')}`;
}

/** `qdisc show -d -j`'s `stab` object. */
export function stabJson(s: SizeSpec): object {
  return Object.fromEntries(shown(s));
}

/** The words that rebuild the spec (config dump, follow mode), `stab` first; none for a spec of zeros (no qdisc has one: tc refuses it). */
export function stabWords(s: SizeSpec): string[] {
  const fields = shown(s);
  return fields.length === 0 ? [] : ['stab', ...fields.flatMap(([k, v]) => [k, String(v)])];
}

/** A size spec from the kernel's TCA_STAB attribute (TCA_STAB_BASE: struct tc_sizespec). */
export function decodeStab(attrs: Attrs, type: number): SizeSpec | undefined {
  const base = parseAttrs(attrs.get(type)).get(1);
  if (base === undefined) return undefined;
  // cell_log u8, size_log u8, cell_align s16, overhead s32, linklayer, mpu, mtu, tsize u32
  return {
    overhead: base.getInt32(4, true),
    linklayer: base.getUint32(8, true),
    mpu: base.getUint32(12, true),
    mtu: base.getUint32(16, true),
    tsize: base.getUint32(20, true),
  };
}
