/** tbf (tc-tbf(8), q_tbf.c): rate, burst and a limit (or the latency it is derived from); one class, made with it. */
import { badArg, whatIs } from '../errors.js';
import { formatRate, formatSize, formatTimeUs } from '../format.js';
import { kernelTicks, ticksToUsec, xmitSize } from '../ticks.js';
import { major, makeHandle } from '../handles.js';
import { LINKLAYER_ATM, parseAttrs, ratespec, ticksToBytes, u64, unsupported } from '../netlink-attrs.js';
import { DEFAULT_LIMIT_PACKETS, MAX_LIMIT } from '../../../schedulers/class-queues.js';
import type { ClassParams } from '../../../schedulers/types.js';
import type { TcArgs } from '../args.js';
import { parseLinklayer } from '../linklayer.js';
import { atmCells } from '../../../schedulers/size-table.js';
import type { Kind, QdiscOf } from './kind.js';

/** The largest byte count the kernel's 32-bit fields hold. */
const U32_MAX = 2 ** 32 - 1;

type Tbf = QdiscOf<'tbf'>;

/**
 * A size as tc stores it in a tbf's buckets (the burst, the peak bucket's mtu): as its
 * link layer carries it — plus the overhead, at least the mpu, whole ATM cells on ATM.
 */
function onLink(q: Tbf, size: number): number {
  const n = Math.max(size + (q.overhead ?? 0), q.mpu ?? 0);
  return q.linklayer === 'atm' ? atmCells(n) : n;
}

/**
 * A bucket's ticks as the kernel keeps them: tbf takes the burst (and the peak bucket's
 * mtu) in bytes and times them itself, counting them as its rate's link layer does.
 */
const bucketTicks = (q: Tbf, rate: number, size: number) => kernelTicks(rate / 8, onLink(q, size));
/** The burst as tc shows it back, in bytes. */
const shownBurst = (q: Tbf) => xmitSize(q.rate / 8, bucketTicks(q, q.rate, q.burst));
/** The peak bucket (peakrate's mtu, or minburst) likewise. */
const shownMtu = (q: Tbf) => (q.peakrate && q.mtu ? xmitSize(q.peakrate / 8, bucketTicks(q, q.peakrate, q.mtu)) : 0);

/**
 * The latency (µs) tc shows: how long the limit takes at the rate past the burst's own
 * time — or at the peak rate past the mtu's, if longer. Negative when the limit is below
 * the burst (tc then shows the limit).
 */
function latencyUs(q: Tbf): number {
  const at = (rate: number, size: number) => (1e6 * q.limit) / (rate / 8) - ticksToUsec(bucketTicks(q, rate, size));
  const lat = at(q.rate, q.burst);
  return q.peakrate && q.mtu ? Math.max(lat, at(q.peakrate, q.mtu)) : lat;
}

/** A tbf is a one-class htb: this class, at its rate and burst, counting packets as its link layer does. */
function bucket(q: Tbf): ClassParams {
  const burst = onLink(q, q.burst);
  return { rate: q.rate, ceil: q.rate, burst, cburst: burst, mpu: q.mpu ?? 0, overhead: q.overhead ?? 0, atm: q.linklayer === 'atm' };
}

/** The options tc shows after `lat` (or `limit`): the overhead, the link layer (ATM always, Ethernet under -d). */
function tail(q: Tbf, details: boolean): [string, string | number][] {
  return [
    ...(q.overhead ? [['overhead', q.overhead] as [string, number]] : []),
    ...(details || q.linklayer === 'atm' ? [['linklayer', q.linklayer ?? 'ethernet'] as [string, string]] : []),
  ];
}

/** A link-layer option's value, with q_tbf's own message for a bad one. */
function linkValue<T>(a: TcArgs, name: string, parse: (text: string) => T | undefined): T {
  const text = a.next();
  const v = parse(text);
  if (v === undefined) throw badArg(`tbf: illegal value for "${name}": "${text}"`);
  return v;
}

export const tbf: Kind<'tbf'> = {
  parse(a) {
    let rate = 0;
    let burst = 0;
    let limit = 0;
    let latency = 0;
    const q: Partial<Tbf> = {};
    while (!a.done) {
      const w = a.next();
      if (w === 'rate') rate = a.rate('rate');
      else if (w === 'burst' || w === 'buffer' || w === 'maxburst') burst = a.burst('burst');
      else if (w === 'limit') limit = a.size('limit');
      else if (w === 'latency') latency = a.time('latency');
      else if (w === 'peakrate') q.peakrate = a.rate('peakrate');
      else if (w === 'mtu' || w === 'minburst') q.mtu = a.burst('mtu');
      else if (w === 'mpu') q.mpu = a.size('mpu');
      else if (w === 'overhead') q.overhead = linkValue(a, 'overhead', (v) => (/^[0-9]+$/.test(v) && Number(v) <= 0xffff ? Number(v) : undefined));
      else if (w === 'linklayer') q.linklayer = linkValue(a, 'linklayer', parseLinklayer);
      else throw whatIs(w);
    }
    if (!rate || !burst) throw badArg('"rate" and "burst" are required.');
    if (!limit && !latency) throw badArg('Either "limit" or "latency" are required.');
    if (limit && latency) throw badArg('"limit" and "latency" are mutually exclusive.');
    // tc: a latency becomes the bytes the bucket's rate drains in that time, plus the burst
    // (at the peak rate plus the mtu, if that is less); the kernel keeps it in 32 bits, so a
    // huge rate (libvirt's 4294967295kbps) holds 4 GiB.
    if (!limit) {
      limit = Math.floor((rate / 8) * (latency / 1e6)) + burst;
      if (q.peakrate && q.mtu) limit = Math.min(limit, Math.floor((q.peakrate / 8) * (latency / 1e6)) + q.mtu);
      limit = Math.min(limit, U32_MAX);
    }
    return { kind: 'tbf', rate, burst, limit, ...q };
  },
  show(q, _device, details) {
    const cell = details ? `/1 mpu ${formatSize(q.mpu ?? 0)}` : '';
    const peak = q.peakrate && q.mtu ? ` peakrate ${formatRate(q.peakrate)} ${details ? 'mtu' : 'minburst'} ${formatSize(shownMtu(q))}${cell}` : '';
    const lat = latencyUs(q);
    // A limit below the burst has no latency to speak of: tc shows the limit instead.
    const when = lat >= 0 ? `lat ${formatTimeUs(Math.floor(lat))}` : `limit ${formatSize(q.limit)}`;
    const rest = tail(q, details).map(([k, v]) => ` ${k} ${v}`);
    return `rate ${formatRate(q.rate)} burst ${formatSize(shownBurst(q))}${cell}${peak} ${when}${rest.join('')}`;
  },
  json(q, _device, _direct, details) {
    const lat = latencyUs(q);
    const cell = (bytes: number) => (details ? `${formatSize(bytes)}/1` : bytes);
    return {
      rate: q.rate / 8,
      burst: cell(shownBurst(q)),
      ...(details ? { mpu: q.mpu ?? 0 } : {}),
      ...(q.peakrate && q.mtu ? (details ? { mtu: cell(shownMtu(q)), mpu: q.mpu ?? 0 } : { minburst: shownMtu(q) }) : {}),
      ...(lat >= 0 ? { lat: Math.floor(lat) } : { limit: q.limit }),
      ...Object.fromEntries(tail(q, details)),
    };
  },
  dump: (q) =>
    `tbf rate ${q.rate}bit burst ${q.burst} limit ${q.limit}${q.peakrate ? ` peakrate ${q.peakrate}bit` : ''}${q.mtu ? ` mtu ${q.mtu}` : ''}${q.mpu ? ` mpu ${q.mpu}` : ''}${q.overhead ? ` overhead ${q.overhead}` : ''}${q.linklayer ? ` linklayer ${q.linklayer}` : ''}`,
  decode(raw) {
    const o = parseAttrs(raw);
    const p = o.get(1); // TCA_TBF_PARMS: rate, peakrate, limit, buffer, mtu
    if (!p) return unsupported('tbf without its parameters');
    const r = ratespec(p, 0);
    const rate = u64(o.get(4)) ?? r.rate; // TCA_TBF_RATE64
    const peak = u64(o.get(5)) ?? ratespec(p, 12).rate; // TCA_TBF_PRATE64
    const link: Partial<Tbf> = {
      ...(r.mpu ? { mpu: r.mpu } : {}),
      ...(r.overhead ? { overhead: r.overhead } : {}),
      ...(r.linklayer === LINKLAYER_ATM ? { linklayer: 'atm' as const } : {}),
    };
    // The buckets hold sizes as the link layer carries them (onLink): back to what tc was given.
    const given = (stored: number) => (link.linklayer === 'atm' ? Math.floor(stored / 53) * 48 : stored) - (link.overhead ?? 0);
    return {
      kind: 'tbf',
      rate: rate * 8,
      burst: given(ticksToBytes(p.getUint32(28, true), rate)),
      limit: p.getUint32(24, true),
      ...(peak ? { peakrate: peak * 8, mtu: given(ticksToBytes(p.getUint32(32, true), peak)) } : {}),
      ...link,
    };
  },
  // As a root, its byte limit is the class's queue, unless a child qdisc (on its class :1) holds it.
  scheduler: (q, tree, handle) => ({
    scheduler: 'htb',
    rootParams: {},
    classes: new Map([[0, { ...bucket(q), ...(tree.attachedQueue(makeHandle(major(handle), 1)) ?? { limitBytes: q.limit }) }]]),
    unclassifiedSlot: 0,
  }),
  onClass: 'queue',
  queue: (q) => ({
    limitPackets: DEFAULT_LIMIT_PACKETS,
    leaf: { kind: 'htb', params: {}, classes: [{ slot: 0, ...bucket(q), limitPackets: MAX_LIMIT, limitBytes: q.limit }] },
  }),
  // tbf_find answers any minor with its one class, under which its child qdisc sits: :1.
  fixedClasses: () => [{ minor: 1, slot: 0 }],
};
