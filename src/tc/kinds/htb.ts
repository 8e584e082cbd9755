/** htb (tc-htb(8), q_htb.c): the qdisc's r2q, default class and direct queue; classes with rate, ceil and bursts. */
import type { TcArgs } from '../args.js';
import { badArg, whatIs } from '../errors.js';
import { formatRate, formatSize, hexAlt } from '../format.js';
import { storedBurst, tokenTicks, xmitTicks } from '../ticks.js';
import type { DeviceFacts } from '../../net/device.js';
import { major, makeHandle } from '../handles.js';
import { LINKLAYER_ATM, parseAttrs, ratespec, ticksToBytes, u32, u64, unsupported } from '../netlink-attrs.js';
import { parseLinklayer, type Linklayer } from '../linklayer.js';
import { userClasses, type ClassOf, type Kind, type QdiscOf } from './kind.js';

type HtbClass = ClassOf<'htb'>;

/** htb's direct queue limit: direct_qlen, else txqueuelen; at least 2 (sch_htb). */
export function htbDirectQlen(q: QdiscOf<'htb'>, device: DeviceFacts): number {
  return Math.max(2, q.directQlen ?? device.txQueueLen);
}

/** htb's `default` is a class minor in hex (`default 30` is 1:30). */
function hexOrFail(text: string, name: string): number {
  if (!/^(?:0x)?[0-9a-f]{1,4}$/i.test(text)) throw badArg(`Illegal "${name}"`);
  return parseInt(text, 16);
}

/** htb's default burst when the command gave none: rate/1e9 s of tokens plus the MTU (tc's `rate / get_hz() + mtu`). */
function defaultBurst(rate: number, mtu: number): number {
  return Math.floor(rate / 8 / 1e9 + mtu);
}

/** A class's burst and cburst, given or by tc's default, in bytes as written. */
function bursts(spec: HtbClass): { burst: number; cburst: number } {
  return { burst: spec.burst ?? defaultBurst(spec.rate, spec.mtu), cburst: spec.cburst ?? defaultBurst(spec.ceil, spec.mtu) };
}

/**
 * Tokens as the kernel reports them: the bucket's time in ticks, at most the stored
 * burst's (pspat keeps bytes; a full bucket reads as the kernel's full bucket).
 */
function tokens(spec: HtbClass, which: 'rate' | 'ceil', bytes: number | undefined): number {
  const rate = which === 'rate' ? spec.rate : spec.ceil;
  const { burst, cburst } = bursts(spec);
  const full = xmitTicks(rate / 8, which === 'rate' ? burst : cburst);
  return Math.min(full, tokenTicks(rate / 8, bytes ?? (which === 'rate' ? burst : cburst)));
}

/** `linklayer TYPE` after its keyword, with tc's message for a type it does not know. */
function linklayerArg(a: TcArgs): Linklayer {
  const l = parseLinklayer(a.next());
  if (l === undefined) throw badArg('Illegal "linklayer"');
  return l;
}

export const htb: Kind<'htb'> = {
  parse(a) {
    const q: QdiscOf<'htb'> = { kind: 'htb', defaultClass: 0, r2q: 10 };
    while (!a.done) {
      const w = a.next();
      if (w === 'default') q.defaultClass = hexOrFail(a.next(), 'default');
      else if (w === 'r2q') q.r2q = a.uint('r2q', 1);
      else if (w === 'direct_qlen') q.directQlen = a.uint('direct_qlen');
      else throw whatIs(w);
    }
    return q;
  },
  show: (q, device, details, direct) =>
    `r2q ${q.r2q} default ${hexAlt(q.defaultClass)} direct_packets_stat ${direct}${details ? ' ver 3.17' : ''} direct_qlen ${htbDirectQlen(q, device)}`,
  json: (q, device, direct, details) => ({
    r2q: q.r2q,
    default: hexAlt(q.defaultClass),
    direct_packets_stat: direct,
    ...(details ? { ver: '3.17' } : {}),
    direct_qlen: htbDirectQlen(q, device),
  }),
  dump: (q) => `htb default ${q.defaultClass.toString(16)} r2q ${q.r2q}${q.directQlen !== undefined ? ` direct_qlen ${q.directQlen}` : ''}`,
  bareEnd: true,
  decode(raw) {
    const o = parseAttrs(raw);
    const glob = o.get(2); // TCA_HTB_INIT: version, rate2quantum, defcls, debug, direct_pkts
    if (!glob) return unsupported('htb without its parameters');
    const directQlen = u32(o.get(5)); // TCA_HTB_DIRECT_QLEN
    return { kind: 'htb', r2q: glob.getUint32(4, true), defaultClass: glob.getUint32(8, true), ...(directQlen !== undefined ? { directQlen } : {}) };
  },
  // What no filter classifies goes to the default class, else to the direct queue: a top-level class at the link's rate.
  scheduler(q, tree, handle) {
    const own = tree.classesOf(handle);
    const defaultClass = own.find((c) => c.classid === makeHandle(major(handle), q.defaultClass));
    const s = userClasses('htb', own, { r2q: q.r2q }, defaultClass?.slot ?? tree.directSlot);
    s.classes.set(tree.directSlot, { rate: tree.linkRate, ceil: tree.linkRate, prio: 0, limitPackets: htbDirectQlen(q, tree.device) });
    return s;
  },
  onClass: 'inner',
  directQueue: true,
  noChange: true,
  classes: {
    parse(a: TcArgs): HtbClass {
      let rate = 0;
      let ceil = 0;
      const c: Omit<HtbClass, 'rate' | 'ceil'> = { kind: 'htb', prio: 0, mtu: 1600, mpu: 0, overhead: 0 };
      while (!a.done) {
        const w = a.next();
        if (w === 'rate') rate = a.rate('rate');
        else if (w === 'ceil') ceil = a.rate('ceil');
        else if (w === 'burst' || w === 'buffer' || w === 'maxburst') c.burst = a.burst('burst');
        else if (w === 'cburst' || w === 'cbuffer' || w === 'cmaxburst') c.cburst = a.burst('cburst');
        else if (w === 'prio') c.prio = a.uint('prio', 0, 7);
        else if (w === 'quantum') c.quantum = a.size('quantum');
        else if (w === 'mtu') c.mtu = a.size('mtu');
        else if (w === 'mpu') c.mpu = a.size('mpu');
        else if (w === 'overhead') c.overhead = a.uint('overhead', 0, 0xffff);
        else if (w === 'linklayer') c.linklayer = linklayerArg(a);
        else throw whatIs(w);
      }
      if (!rate) throw badArg('"rate" is required.');
      return { ...c, rate, ceil: ceil || rate };
    },
    params: (s, place) => ({
      rate: s.rate,
      ceil: s.ceil,
      prio: s.prio,
      mpu: s.mpu,
      overhead: s.overhead,
      atm: s.linklayer === 'atm',
      ...(place.parentSlot !== undefined ? { parent: place.parentSlot } : {}),
      ...(s.burst !== undefined ? { burst: s.burst } : {}),
      ...(s.cburst !== undefined ? { cburst: s.cburst } : {}),
      ...(s.quantum !== undefined ? { quantum: s.quantum } : {}),
    }),
    show(spec, place, details) {
      const { burst, cburst } = bursts(spec);
      const cell = details ? `/1 mpu ${formatSize(spec.mpu)}` : '';
      return [
        ...(place.leaf ? [`prio ${spec.prio}`] : []),
        ...(place.leaf && details ? [`quantum ${place.quantum()}`] : []),
        // overhead after the rate, the link layer after the ceil: ATM always, Ethernet under -d.
        `rate ${formatRate(spec.rate)}${spec.overhead ? ` overhead ${spec.overhead}` : ''} ceil ${formatRate(spec.ceil)}`,
        ...(details || spec.linklayer === 'atm' ? [`linklayer ${spec.linklayer ?? 'ethernet'}`] : []),
        `burst ${formatSize(storedBurst(spec.rate, burst))}${cell} cburst ${formatSize(storedBurst(spec.ceil, cburst))}${cell}`,
        ...(details ? [`level ${place.level()}`] : []),
      ].join(' ');
    },
    json(spec, place) {
      const { burst, cburst } = bursts(spec);
      return {
        ...(place.leaf ? { prio: spec.prio } : {}),
        rate: spec.rate / 8,
        ceil: spec.ceil / 8,
        burst: storedBurst(spec.rate, burst),
        cburst: storedBurst(spec.ceil, cburst),
      };
    },
    dump: (c) =>
      `htb rate ${c.rate}bit ceil ${c.ceil}bit${c.burst !== undefined ? ` burst ${c.burst}` : ''}${c.cburst !== undefined ? ` cburst ${c.cburst}` : ''} prio ${c.prio}${c.quantum !== undefined ? ` quantum ${c.quantum}` : ''} mtu ${c.mtu} mpu ${c.mpu}${c.overhead ? ` overhead ${c.overhead}` : ''}${c.linklayer ? ` linklayer ${c.linklayer}` : ''}`,
    decode(o) {
      const p = o.get(1); // TCA_HTB_PARMS: rate, ceil, buffer, cbuffer, quantum, level, prio
      if (!p) return unsupported('htb class without its parameters');
      const r = ratespec(p, 0);
      const rate = u64(o.get(6)) ?? r.rate; // TCA_HTB_RATE64
      const ceil = u64(o.get(7)) ?? ratespec(p, 12).rate; // TCA_HTB_CEIL64
      return {
        kind: 'htb',
        rate: rate * 8,
        ceil: ceil * 8,
        burst: ticksToBytes(p.getUint32(24, true), rate),
        cburst: ticksToBytes(p.getUint32(28, true), ceil),
        quantum: p.getUint32(32, true),
        prio: p.getUint32(40, true),
        mtu: 1600,
        mpu: r.mpu,
        overhead: r.overhead,
        ...(r.linklayer === LINKLAYER_ATM ? { linklayer: 'atm' as const } : {}),
      };
    },
    statsLines: (spec, s) => [
      ` lended: ${s.lends ?? 0} borrowed: ${s.borrows ?? 0} giants: 0`,
      ` tokens: ${tokens(spec, 'rate', s.tokens)} ctokens: ${tokens(spec, 'ceil', s.ctokens)}`,
    ],
  },
};
