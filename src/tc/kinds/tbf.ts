/** tbf (tc-tbf(8), q_tbf.c): rate, burst and a limit (or the latency it is derived from); one class, made with it. */
import { badArg, whatIs } from '../errors.js';
import { formatRate, formatSize, formatTimeUs } from '../format.js';
import { storedBurst, ticksToUsec, xmitTicks } from '../ticks.js';
import { major, makeHandle } from '../handles.js';
import { parseAttrs, ratespec, ticksToBytes, u64, unsupported } from '../netlink-attrs.js';
import { DEFAULT_LIMIT_PACKETS, MAX_LIMIT } from '../../../schedulers/class-queues.js';
import type { ClassParams } from '../../../schedulers/types.js';
import type { Kind, QdiscOf } from './kind.js';

/** The largest byte count the kernel's 32-bit fields hold. */
const U32_MAX = 2 ** 32 - 1;

/** The latency (µs) tc computes from the limit and the stored burst: negative when the limit is below the burst. */
function latencyUs(q: QdiscOf<'tbf'>): number {
  const rateBytes = q.rate / 8;
  return (1e6 * q.limit) / rateBytes - ticksToUsec(xmitTicks(rateBytes, q.burst));
}

/** A tbf is a one-class htb: this class, at its rate and burst. */
function bucket(q: QdiscOf<'tbf'>): ClassParams {
  return { rate: q.rate, ceil: q.rate, burst: q.burst, cburst: q.burst };
}

export const tbf: Kind<'tbf'> = {
  parse(a) {
    let rate = 0;
    let burst = 0;
    let limit = 0;
    let latency = 0;
    let peakrate: number | undefined;
    let mtu: number | undefined;
    while (!a.done) {
      const w = a.next();
      if (w === 'rate') rate = a.rate('rate');
      else if (w === 'burst' || w === 'buffer' || w === 'maxburst') burst = a.burst('burst');
      else if (w === 'limit') limit = a.size('limit');
      else if (w === 'latency') latency = a.time('latency');
      else if (w === 'peakrate') peakrate = a.rate('peakrate');
      else if (w === 'mtu' || w === 'minburst') mtu = a.burst('mtu');
      else throw whatIs(w);
    }
    if (!rate || !burst) throw badArg('"rate" and "burst" are required.');
    if (!limit && !latency) throw badArg('Either "limit" or "latency" are required.');
    if (limit && latency) throw badArg('"limit" and "latency" are mutually exclusive.');
    // tc: a latency becomes the bytes the bucket's rate drains in that time, plus the burst;
    // the kernel keeps it in 32 bits, so a huge rate (libvirt's 4294967295kbps) holds 4 GiB.
    if (!limit) limit = Math.min(Math.floor((rate / 8) * (latency / 1e6)) + burst, U32_MAX);
    return { kind: 'tbf', rate, burst, limit, ...(peakrate ? { peakrate } : {}), ...(mtu ? { mtu } : {}) };
  },
  show(q, _device, details) {
    const burst = `burst ${formatSize(storedBurst(q.rate, q.burst))}${details ? '/1 mpu 0b' : ''}`;
    const lat = latencyUs(q);
    // A limit below the burst has no latency to speak of: tc shows the limit instead.
    const tail = lat >= 0 ? `lat ${formatTimeUs(Math.floor(lat))}` : `limit ${formatSize(q.limit)}`;
    return `rate ${formatRate(q.rate)} ${burst} ${tail}${details ? ' linklayer ethernet' : ''}`;
  },
  json: (q) => ({ rate: q.rate / 8, burst: storedBurst(q.rate, q.burst), limit: q.limit }),
  dump: (q) => `tbf rate ${q.rate}bit burst ${q.burst} limit ${q.limit}${q.peakrate ? ` peakrate ${q.peakrate}bit` : ''}${q.mtu ? ` mtu ${q.mtu}` : ''}`,
  decode(raw) {
    const o = parseAttrs(raw);
    const p = o.get(1); // TCA_TBF_PARMS: rate, peakrate, limit, buffer, mtu
    if (!p) return unsupported('tbf without its parameters');
    const rate = u64(o.get(4)) ?? ratespec(p, 0).rate; // TCA_TBF_RATE64
    const peak = u64(o.get(5)) ?? ratespec(p, 12).rate; // TCA_TBF_PRATE64
    const mtu = p.getUint32(32, true);
    return {
      kind: 'tbf',
      rate: rate * 8,
      burst: ticksToBytes(p.getUint32(28, true), rate),
      limit: p.getUint32(24, true),
      ...(peak ? { peakrate: peak * 8, mtu: ticksToBytes(mtu, peak) } : {}),
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
