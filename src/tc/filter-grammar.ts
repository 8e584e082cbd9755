/**
 * Filter options per kind, as tc's f_u32.c, f_fw.c, f_basic.c, f_matchall.c and
 * m_police.c read them (tc-u32(8), tc-fw(8), tc-basic(8), tc-matchall(8), tc-police(8)).
 *
 * u32 selectors become tc's own representation: 32-bit keys (value, mask) at 4-byte
 * aligned offsets of the network header, u16/u8 matches shifted into their word and keys
 * at one offset merged, exactly as tc packs them before the kernel sees them — so the
 * classifier (classifier.ts) only ever compares words.
 */
import { type TcArgs, parseUint } from './args.js';
import { badArg } from './errors.js';
import { parseClassId, parseU32Handle, u32HandleValue } from './handles.js';
import type { FilterSpec, PoliceSpec, U32Key } from './model.js';
import { whatIs } from './errors.js';

/** Offsets of IPv4 and IPv6 header fields, and of the transport ports behind a 20-byte IPv4 header (what tc assumes). */
const IP = { tos: 1, protocol: 9, src: 12, dst: 16, sport: 20, dport: 22, icmpType: 20, icmpCode: 21, flags: 6 } as const;
const IP6 = { protocol: 6, src: 8, dst: 24, sport: 40, dport: 42 } as const;
/** Ethernet addresses sit before the network header (negative offsets). */
const ETHER = { dst: -14, src: -8, proto: -2 } as const;

function illegal(what: string): never {
  throw badArg(`Illegal "${what}"`);
}

function num(text: string | undefined, max: number, what: string): number {
  const n = text === undefined ? undefined : parseUint(text);
  if (n === undefined || n > max) illegal(what);
  return n;
}

/** Adds a key, merging with one at the same offset as tc's pack_key does. */
function addKey(keys: U32Key[], value: number, mask: number, off: number, nexthdr: boolean): void {
  if (mask === 0) return; // `match ip src 0.0.0.0/0`, `match u32 0 0`: no constraint
  const v = (value & mask) >>> 0;
  const existing = keys.find((k) => k.off === off && k.nexthdr === nexthdr);
  if (!existing) {
    keys.push({ value: v, mask: mask >>> 0, off, nexthdr });
    return;
  }
  if (((existing.value ^ v) & existing.mask & mask) !== 0) illegal('match'); // contradicts a key already there
  existing.value = (existing.value | v) >>> 0;
  existing.mask = (existing.mask | mask) >>> 0;
}

/** A `width`-bit match at byte offset `off`, packed into its aligned 32-bit word. */
function addField(keys: U32Key[], width: 8 | 16 | 32, value: number, mask: number, off: number, nexthdr = false): void {
  if (width === 16 && off % 2 !== 0) illegal('match');
  if (width === 32 && off % 4 !== 0) illegal('match');
  const inWord = off & 3;
  const shift = 32 - width - 8 * inWord;
  addKey(keys, (value << shift) >>> 0, (mask << shift) >>> 0, off - inWord, nexthdr);
}

function parseIpv4Prefix(text: string): [number, number] {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)(?:\/(\d+))?$/.exec(text);
  if (!m || m.slice(1, 5).some((o) => Number(o) > 255) || (m[5] !== undefined && Number(m[5]) > 32)) illegal('match');
  const addr = m.slice(1, 5).reduce((a, o) => a * 256 + Number(o), 0);
  const len = m[5] === undefined ? 32 : Number(m[5]);
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  return [addr, mask];
}

/** IPv6 address/len as four 32-bit words and masks. */
function parseIpv6Prefix(text: string): [number[], number[]] {
  const [addrText, lenText] = text.split('/');
  const len = lenText === undefined ? 128 : Number(lenText);
  if (!Number.isInteger(len) || len < 0 || len > 128) illegal('match');
  const halves = addrText.split('::');
  if (halves.length > 2) illegal('match');
  const groups = (s: string) => (s === '' ? [] : s.split(':'));
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  const fill = 8 - head.length - tail.length;
  if (fill < 0 || (halves.length === 1 && fill !== 0)) illegal('match');
  const all = [...head, ...Array(fill).fill('0'), ...tail];
  if (all.some((g) => !/^[0-9a-f]{1,4}$/i.test(g))) illegal('match');
  const words = [0, 1, 2, 3].map((w) => ((parseInt(all[2 * w], 16) << 16) | parseInt(all[2 * w + 1], 16)) >>> 0);
  const masks = [0, 1, 2, 3].map((w) => {
    const bits = Math.max(0, Math.min(32, len - 32 * w));
    return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  });
  return [words, masks];
}

function parseMac(text: string): number[] {
  const parts = text.split(':');
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-f]{1,2}$/i.test(p))) illegal('match');
  return parts.map((p) => parseInt(p, 16));
}

/** `VALUE MASK` of a `width`-bit field. */
function valueMask(a: TcArgs, width: 8 | 16 | 32): [number, number] {
  const max = width === 32 ? 0xffffffff : (1 << width) - 1;
  return [num(a.next(), max, 'match'), num(a.next(), max, 'match')];
}

/** `at OFF` or `at nexthdr+OFF`; OFF may be negative. */
function atOffset(a: TcArgs): [number, boolean] {
  if (a.next() !== 'at') illegal('match');
  const m = /^(nexthdr\+)?(-?\d+)$/.exec(a.next());
  if (!m) illegal('match');
  return [Number(m[2]), m[1] !== undefined];
}

function parseMatch(a: TcArgs, keys: U32Key[], spec: { mark?: { value: number; mask: number } }): void {
  const what = a.next();
  if (what === 'u32' || what === 'u16' || what === 'u8') {
    const width = what === 'u32' ? 32 : what === 'u16' ? 16 : 8;
    const [v, m] = valueMask(a, width);
    const [off, nexthdr] = atOffset(a);
    addField(keys, width, v, m, off, nexthdr);
  } else if (what === 'ip') {
    const field = a.next();
    if (field === 'src' || field === 'dst') {
      const [addr, mask] = parseIpv4Prefix(a.next());
      addField(keys, 32, addr, mask, IP[field]);
    } else if (field === 'sport' || field === 'dport') addField(keys, 16, ...valueMask(a, 16), IP[field]);
    else if (field === 'protocol') addField(keys, 8, ...valueMask(a, 8), IP.protocol);
    else if (field === 'tos' || field === 'dsfield') addField(keys, 8, ...valueMask(a, 8), IP.tos);
    else if (field === 'icmp_type') addField(keys, 8, ...valueMask(a, 8), IP.icmpType);
    else if (field === 'icmp_code') addField(keys, 8, ...valueMask(a, 8), IP.icmpCode);
    else if (field === 'nofrag') addField(keys, 16, 0, 0x3fff, IP.flags);
    else if (field === 'firstfrag') addField(keys, 16, 0, 0x1fff, IP.flags);
    else if (field === 'df') addField(keys, 16, 0x4000, 0x4000, IP.flags);
    else if (field === 'mf') addField(keys, 16, 0x2000, 0x2000, IP.flags);
    else illegal('match');
  } else if (what === 'ip6') {
    const field = a.next();
    if (field === 'src' || field === 'dst') {
      const [words, masks] = parseIpv6Prefix(a.next());
      words.forEach((w, k) => {
        if (masks[k] !== 0) addField(keys, 32, w, masks[k], IP6[field] + 4 * k);
      });
    } else if (field === 'sport' || field === 'dport') addField(keys, 16, ...valueMask(a, 16), IP6[field]);
    else if (field === 'protocol') addField(keys, 8, ...valueMask(a, 8), IP6.protocol);
    else illegal('match');
  } else if (what === 'ether') {
    const field = a.next();
    if (field === 'src' || field === 'dst') for (const [k, b] of parseMac(a.next()).entries()) addField(keys, 8, b, 0xff, ETHER[field] + k);
    else if (field === 'proto') addField(keys, 16, ...valueMask(a, 16), ETHER.proto);
    else illegal('match');
  } else if (what === 'tcp' || what === 'udp') {
    // As tc packs them: the ports at nexthdr+0 (src) and +2 (dst). nexthdr is where the
    // kernel's `offset` put the transport header; without one (pspat takes none) it is the
    // network header, as in the kernel (classifier.ts).
    const field = a.next();
    if (field === 'src' || field === 'dst') addField(keys, 16, ...valueMask(a, 16), field === 'src' ? 0 : 2, true);
    else illegal('match');
  } else if (what === 'icmp') {
    const field = a.next();
    if (field === 'type' || field === 'code') addField(keys, 8, ...valueMask(a, 8), field === 'type' ? 0 : 1, true);
    else illegal('match');
  } else if (what === 'mark') {
    const [value, mask] = valueMask(a, 32);
    spec.mark = { value: value & mask, mask };
  } else illegal('match');
}

/** `police ...` up to the first word police does not know; tc-police(8). */
export function parsePolice(a: TcArgs): PoliceSpec {
  let rate = 0;
  let burst = 0;
  const p: Partial<PoliceSpec> = {};
  let exceed: PoliceSpec['exceed'] = 'drop'; // tc's default for a policer over its rate is reclassify; every script names drop
  for (;;) {
    const w = a.peek();
    if (w === 'rate') {
      a.next();
      rate = a.rate('rate');
    } else if (w === 'burst' || w === 'buffer' || w === 'maxburst') {
      a.next();
      burst = a.size('burst');
    } else if (w === 'mtu' || w === 'minburst') {
      a.next();
      p.mtu = a.size('mtu');
    } else if (w === 'peakrate') {
      a.next();
      p.peakrate = a.rate('peakrate');
    } else if (w === 'conform-exceed') {
      a.next();
      exceed = policeAction(a.next().split('/')[0]);
    } else if (w === 'drop' || w === 'shot' || w === 'pass' || w === 'ok' || w === 'reclassify' || w === 'continue' || w === 'pipe') {
      exceed = policeAction(a.next());
    } else break;
  }
  if (!rate || !burst) throw badArg('"rate" and "burst" are required for police.');
  return { rate, burst, exceed, ...p };
}

function policeAction(w: string): PoliceSpec['exceed'] {
  if (w === 'drop' || w === 'shot') return 'drop';
  if (w === 'pass' || w === 'ok') return 'pass';
  if (w === 'reclassify') return 'reclassify';
  if (w === 'continue' || w === 'pipe') return 'continue';
  return illegal('police');
}

function classid(a: TcArgs): number {
  const text = a.next();
  try {
    return parseClassId(text);
  } catch {
    return illegal('classid');
  }
}

function u32Filter(a: TcArgs, handle: string | undefined): FilterSpec {
  const spec: Extract<FilterSpec, { kind: 'u32' }> = { kind: 'u32', keys: [] };
  if (handle !== undefined) spec.handle = u32HandleValue(parseU32Handle(handle));
  while (!a.done) {
    const w = a.next();
    if (w === 'match') parseMatch(a, spec.keys, spec);
    else if (w === 'classid' || w === 'flowid') spec.classid = classid(a);
    else if (w === 'divisor') {
      const d = a.uint('divisor', 1, 256);
      if ((d & (d - 1)) !== 0) illegal('divisor');
      spec.divisor = d;
    } else if (w === 'ht') spec.ht = u32HandleValue(parseU32Handle(a.next(), 'ht'));
    else if (w === 'sample') spec.ht = sampleBucket(a, spec.ht ?? 0);
    else if (w === 'link') spec.link = u32HandleValue(parseU32Handle(a.next(), 'link'));
    else if (w === 'hashkey') {
      if (a.next() !== 'mask') illegal('hashkey');
      const mask = num(a.next(), 0xffffffff, 'hashkey');
      const [off, nexthdr] = atOffset(a);
      if (nexthdr || off % 4 !== 0) illegal('hashkey');
      spec.hashkey = { mask, off };
    } else if (w === 'police') spec.police = parsePolice(a);
    else if (w === 'skip_hw' || w === 'skip_sw')
      continue; // no hardware here: every filter runs in software
    else if (w === 'order')
      a.uint('order', 0, 0xfff); // node order within its table: the handle says it too
    else throw unsupportedOrUnknown(w, ['offset', 'action', 'indev']);
  }
  return spec;
}

/**
 * `sample SELECTOR [divisor N]`: puts the node in the bucket of `htid`'s table that a
 * packet matching the one-key selector hashes to — the kernel's fold of the key (its
 * masked value shifted down to the mask's lowest bit; iproute2 ≥ 5.15), modulo N
 * (default 256). Returns the node's table and bucket.
 */
function sampleBucket(a: TcArgs, htid: number): number {
  const keys: U32Key[] = [];
  parseMatch(a, keys, {});
  if (keys.length !== 1) throw badArg('"sample" must contain exactly ONE key.');
  let divisor = 0x100;
  if (a.peek() === 'divisor') {
    a.next();
    const d = parseUint(a.next());
    if (d === undefined || d === 0 || d > 0x100 || (d & (d - 1)) !== 0) throw badArg('Illegal sample "divisor"');
    divisor = d;
  }
  const { value, mask } = keys[0];
  const shift = mask === 0 ? 0 : 31 - Math.clz32(mask & -mask);
  const hash = ((value & mask) >>> 0) >>> shift;
  return (((hash % divisor) << 12) | (htid & 0xfff00000)) >>> 0;
}

/** A tc keyword pspat does not implement gets its own message, not "What is". */
function unsupportedOrUnknown(w: string, unsupported: string[]): Error {
  if (unsupported.includes(w)) return badArg(`pspat: "${w}" is not supported in this filter (see README: pspat tc)`);
  return whatIs(w);
}

/** fw's handle: MARK or MARK/MASK (tc-fw(8)). */
function fwFilter(a: TcArgs, handle: string | undefined): FilterSpec {
  if (handle === undefined) throw badArg('pspat: fw needs "handle MARK[/MASK]" (the old mark-as-classid form is not supported)');
  const [markText, maskText] = handle.split('/');
  const mark = num(markText, 0xffffffff, 'handle');
  const mask = maskText === undefined ? 0xffffffff : num(maskText, 0xffffffff, 'handle');
  const spec: Extract<FilterSpec, { kind: 'fw' }> = { kind: 'fw', mark: (mark & mask) >>> 0, mask };
  while (!a.done) {
    const w = a.next();
    if (w === 'classid' || w === 'flowid') spec.classid = classid(a);
    else if (w === 'police') spec.police = parsePolice(a);
    else throw unsupportedOrUnknown(w, ['action', 'indev']);
  }
  return spec;
}

function matchAllLike(kind: 'basic' | 'matchall'): (a: TcArgs) => FilterSpec {
  return (a) => {
    const spec: { kind: typeof kind; classid?: number; police?: PoliceSpec } = { kind };
    while (!a.done) {
      const w = a.next();
      if (w === 'classid' || w === 'flowid') spec.classid = classid(a);
      else if (w === 'police') spec.police = parsePolice(a);
      else if (w === 'skip_hw' || w === 'skip_sw') continue;
      else throw unsupportedOrUnknown(w, ['match', 'action', 'indev']);
    }
    return spec;
  };
}

const FILTERS: Record<FilterSpec['kind'], (a: TcArgs, handle: string | undefined) => FilterSpec> = {
  u32: u32Filter,
  fw: fwFilter,
  basic: matchAllLike('basic'),
  matchall: matchAllLike('matchall'),
};

export function isFilterKind(word: string): word is FilterSpec['kind'] {
  return Object.hasOwn(FILTERS, word);
}

export function parseFilterSpec(kind: string, a: TcArgs, handle: string | undefined): FilterSpec {
  if (!isFilterKind(kind)) throw badArg(`Unknown filter "${kind}", hence option "${a.peek() ?? ''}" is unparsable`);
  return FILTERS[kind](a, handle);
}
