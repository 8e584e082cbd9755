/**
 * tc's handles, as tc(8) writes them ("QDISCS, CLASSES AND FILTERS: naming"):
 *   qdisc  `1:`      major 1, minor 0 (the major is hex: `10:` is 16);
 *   class  `1:10`    major 1, minor 0x10; `:10` leaves the major to the qdisc;
 *   root   `root`    TC_H_ROOT, 0xffffffff; `none` is 0 (unspecified);
 *   u32    `800::803` hash table 0x800, bucket 0, node 0x803 (tc-u32(8), "handle").
 * A handle is one 32-bit number, major << 16 | minor, as the kernel keeps it; these
 * functions parse and print that form and nothing else.
 */
import { badArg, invalidArg } from './errors.js';

export const TC_H_ROOT = 0xffffffff;
export const TC_H_UNSPEC = 0;

export function major(h: number): number {
  return h >>> 16;
}

export function minor(h: number): number {
  return h & 0xffff;
}

export function makeHandle(maj: number, min: number): number {
  return ((maj << 16) | min) >>> 0;
}

const HEX = /^(?:0x)?[0-9a-f]{1,4}$/i;

function hexPart(text: string): number | undefined {
  return HEX.test(text) ? parseInt(text, 16) : undefined;
}

/** A qdisc handle `X:` (or `X`), minor 0; `why` is tc's message for a bad one. */
export function parseQdiscHandle(text: string, why = 'invalid qdisc ID'): number {
  const m = /^([^:]*):?$/.exec(text);
  const maj = m ? hexPart(m[1]) : undefined;
  if (text === 'none') return TC_H_UNSPEC;
  if (maj === undefined) throw invalidArg(text, why);
  // `0:` asks the kernel to choose, as no handle does.
  return makeHandle(maj, 0);
}

/**
 * A class id `X:Y`, `:Y` (major 0), `X:` (minor 0), `root` or `none` — or a bare hex number,
 * which iproute2's get_tc_classid takes as the whole 32-bit id: `1` is 0:1 (libvirt's
 * `fw flowid 1`).
 */
export function parseClassId(text: string, why = 'invalid class ID'): number {
  if (text === 'root') return TC_H_ROOT;
  if (text === 'none') return TC_H_UNSPEC;
  if (/^(?:0x)?[0-9a-f]{1,8}$/i.test(text)) return parseInt(text, 16);
  const m = /^([^:]*):([^:]*)$/.exec(text);
  const maj = m ? (m[1] === '' ? 0 : hexPart(m[1])) : undefined;
  const min = m ? (m[2] === '' ? 0 : hexPart(m[2])) : undefined;
  if (maj === undefined || min === undefined) throw invalidArg(text, why);
  return makeHandle(maj, min);
}

/** `1:`, `1:10`, `root`, `none`; tc prints a class id as `maj:min` in hex. */
export function formatHandle(h: number): string {
  if (h === TC_H_ROOT) return 'root';
  if (h === TC_H_UNSPEC) return 'none';
  return `${major(h).toString(16)}:${minor(h) === 0 ? '' : minor(h).toString(16)}`;
}

/** u32 handles: 12-bit table id, 8-bit bucket, 12-bit node ("800::803", "800:", "::5"). */
export interface U32Handle {
  htid: number;
  hash: number;
  node: number;
}

/** tc's f_u32 refuses a bad u32 handle as `Illegal "handle"` (or "ht", "link"), exit 1. */
export function parseU32Handle(text: string, what = 'handle'): U32Handle {
  const parts = text.split(':');
  const nums = parts.map((p) => (p === '' ? 0 : HEX.test(p) ? parseInt(p, 16) : NaN));
  const [ht, hash = 0, node = 0] = nums;
  if (parts.length > 3 || nums.some(Number.isNaN) || ht > 0xfff || hash > 0xff || node > 0xfff) throw badArg(`Illegal "${what}"`);
  return { htid: ht, hash, node };
}

/** The 32-bit form: htid << 20 | hash << 12 | node. */
export function u32HandleValue(h: U32Handle): number {
  return ((h.htid << 20) | (h.hash << 12) | h.node) >>> 0;
}

export function formatU32Handle(v: number): string {
  const ht = v >>> 20;
  const hash = (v >>> 12) & 0xff;
  const node = v & 0xfff;
  return `${ht.toString(16)}:${hash === 0 ? '' : hash.toString(16)}:${node === 0 ? '' : node.toString(16)}`;
}
