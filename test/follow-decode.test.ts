/**
 * Follow mode's decoders for the kinds this machine's kernel lacks (prio, sfq, fq_codel,
 * drr, qfq; fw, matchall, basic; police), fed messages laid out as linux/pkt_sched.h and
 * linux/pkt_cls.h declare them — no kernel here could dump them (test/follow-mode.test.ts
 * runs the kinds it has against the kernel) — and the lines they become replayed through
 * `pspat tc`'s own parser and planner.
 */
import { describe, expect, it } from 'vitest';
import { decodeDevice, type KernelConfig } from '../src/follow/tc-decode.js';
import { TCA_KIND, TCA_OPTIONS, type TcMessage } from '../src/follow/netlink.js';
import { parseAttrs } from '../src/tc/netlink-attrs.js';
import { parseTc } from '../src/tc/grammar.js';
import { planCommand } from '../src/tc/plan.js';
import type { QdiscCommand, ClassCommand, FilterCommand } from '../src/tc/model.js';
import { DEFAULT_DEVICE_FACTS } from '../src/net/device.js';
import type { TcTree } from '../src/tc/tree.js';

const ROOT = 0xffffffff;
const ETH_P_IP = 0x0800;

/** Little-endian fields of the given widths (negative widths: signed), as a C struct lays them out. */
function struct(...fields: [bytes: 1 | 2 | 4, value: number][]): Uint8Array {
  const out = new Uint8Array(fields.reduce((n, [b]) => n + b, 0));
  const v = new DataView(out.buffer);
  let at = 0;
  for (const [b, x] of fields) {
    if (b === 1) v.setUint8(at, x);
    else if (b === 2) v.setUint16(at, x, true);
    else v.setUint32(at, x >>> 0, true);
    at += b;
  }
  return out;
}

/** One netlink attribute: length, type, payload, padded to 4 bytes. */
function attr(type: number, payload: Uint8Array): Uint8Array {
  const len = 4 + payload.length;
  const out = new Uint8Array((len + 3) & ~3);
  new DataView(out.buffer).setUint16(0, len, true);
  new DataView(out.buffer).setUint16(2, type, true);
  out.set(payload, 4);
  return out;
}

const nest = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};
const cstr = (s: string) => new TextEncoder().encode(`${s}\0`);
const u32 = (n: number) => struct([4, n]);

/** A tc message (qdisc, class or filter) with its kind and options. */
function msg(kind: string, handle: number, parent: number, options?: Uint8Array, filter?: { prio: number; protocol: number }): TcMessage {
  const raw = nest(attr(TCA_KIND, cstr(kind)), ...(options ? [attr(TCA_OPTIONS, options)] : []));
  return { type: 0, ifindex: 1, handle, parent, prio: filter?.prio ?? 0, protocol: filter?.protocol ?? 0, attrs: parseAttrs(new DataView(raw.buffer)) };
}

/** struct tc_ratespec: cell_log, linklayer, overhead, cell_align, mpu, rate (bytes/s). */
const ratespec = (rateBytes: number) => struct([1, 0], [1, 1], [2, 0], [2, 0], [2, 0], [4, rateBytes]);

/** TCA_POLICE_TBF's struct tc_police: index, action, limit, burst (ticks), mtu, rate, peakrate, refcnt, bindcnt, capab. */
function police(rateBytes: number, burstTicks: number, action: number): Uint8Array {
  return attr(1, nest(struct([4, 0], [4, action], [4, 0], [4, burstTicks], [4, 0]), ratespec(rateBytes), ratespec(0), struct([4, 0], [4, 0], [4, 0])));
}

/** Replays decoded lines through pspat tc's parser and planner: the tree they make. */
function replay(c: KernelConfig): TcTree {
  let trees = new Map<string, TcTree>();
  const defaults = { linkRate: () => 1e9, device: () => DEFAULT_DEVICE_FACTS, maxClasses: 64 };
  for (const line of [c.root, ...c.items.values(), ...[...c.filters.values()].flat()]) {
    const plan = planCommand(trees, parseTc(line.split(' ')).command as QdiscCommand | ClassCommand | FilterCommand, defaults);
    if ('passthrough' in plan) throw new Error(`passed through: ${line}`);
    trees = new Map(trees).set(plan.dev, plan.tree!);
  }
  return trees.get('d0')!;
}

describe('follow mode: decoders for the kinds this kernel lacks, as the headers lay them out', () => {
  it('prio with an sfq and an fq_codel on its bands; fw, matchall and a basic police filter', () => {
    const priomap = [1, 2, 2, 2, 1, 2, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1];
    const qdiscs = [
      msg('prio', 0x10000, ROOT, nest(u32(3), Uint8Array.from(priomap))),
      // tc_sfq_qopt_v1: quantum, perturb_period, limit, divisor, flows; depth, headdrop; then the RED fields.
      msg('sfq', 0x100000, 0x10001, nest(struct([4, 1514], [4, 10], [4, 100], [4, 1024], [4, 100], [4, 50], [4, 1]), new Uint8Array(24))),
      msg(
        'fq_codel',
        0x200000,
        0x10002,
        nest(
          attr(1, u32(5000)),
          attr(2, u32(10240)),
          attr(3, u32(100000)),
          attr(4, u32(1)),
          attr(5, u32(1024)),
          attr(6, u32(1514)),
          attr(8, u32(64)),
          attr(9, u32(32 << 20)),
        ),
      ),
    ];
    // prio's bands, which the kernel lists as classes.
    const classes = [1, 2, 3].map((b) => msg('prio', 0x10000 + b, 0x10000));
    const filters = [
      msg('fw', 7, 0x10000, nest(attr(1, u32(0x10001)), attr(5, u32(0xff))), { prio: 1, protocol: ETH_P_IP }),
      msg('matchall', 1, 0x10000, nest(attr(1, u32(0x10003))), { prio: 3, protocol: 3 }),
      // basic with a legacy police attribute: 1 Mbit/s (125000 B/s), a burst of 10000 B in ticks, drop (TC_ACT_SHOT 2).
      msg('basic', 1, 0x10000, nest(attr(1, u32(0x10002)), attr(4, police(125000, 1250000, 2))), { prio: 2, protocol: ETH_P_IP }),
    ];
    const c = decodeDevice('d0', qdiscs, classes, filters) as KernelConfig;
    expect(c.root).toBe('qdisc add dev d0 root handle 1: prio bands 3 priomap 1 2 2 2 1 2 0 0 1 1 1 1 1 1 1 1');
    expect([...c.items.values()]).toEqual([
      'qdisc add dev d0 parent 1:1 handle 10: sfq perturb 10 limit 100 divisor 1024 flows 100 depth 50 quantum 1514 headdrop',
      'qdisc add dev d0 parent 1:2 handle 20: fq_codel limit 10240 flows 1024 target 5000us interval 100000us quantum 1514 ecn memory_limit 33554432 drop_batch 64',
    ]);
    expect(c.filters.get('1:')).toEqual([
      'filter add dev d0 parent 1: protocol ip prio 1 handle 0x7/0xff fw classid 1:1',
      'filter add dev d0 parent 1: protocol all prio 3 matchall classid 1:3',
      'filter add dev d0 parent 1: protocol ip prio 2 basic classid 1:2 police rate 1000000bit burst 10000 conform-exceed drop',
    ]);
    const tree = replay(c);
    expect(tree.classes.get(0x10001)!.leaf!.qdisc).toEqual({
      kind: 'sfq',
      perturbS: 10,
      limit: 100,
      divisor: 1024,
      flows: 100,
      depth: 50,
      headdrop: true,
      quantum: 1514,
    });
    expect(tree.filters.map((f) => f.spec.kind)).toEqual(['fw', 'matchall', 'basic']);
    expect(tree.filters[2].spec.police).toMatchObject({ rate: 1e6, burst: 10000, exceed: 'drop' });
  });

  it('drr and qfq classes; a u32 filter with a police action (as OpenStack writes it)', () => {
    for (const [kind, opts, words] of [
      ['drr', nest(attr(1, u32(3000))), 'drr quantum 3000'],
      ['qfq', nest(attr(1, u32(5)), attr(2, u32(2048))), 'qfq weight 5 maxpkt 2048'],
    ] as const) {
      const act = attr(1, nest(attr(1, cstr('police')), attr(2, police(125000, 1250000, 2)))); // TCA_ACT_KIND, TCA_ACT_OPTIONS
      // tc_u32_sel with one key: ip dst 10.0.0.1/32 (at 16), then TCA_U32_CLASSID and TCA_U32_ACT.
      const sel = nest(
        struct([1, 1], [1, 0], [1, 1], [1, 0], [2, 0], [2, 0], [2, 0], [2, 0], [4, 0]),
        Uint8Array.from([0xff, 0xff, 0xff, 0xff, 10, 0, 0, 1]),
        struct([4, 16], [4, 0]),
      );
      const filters = [
        msg('u32', 0x80000000, 0x10000, nest(attr(4, u32(1))), { prio: 1, protocol: ETH_P_IP }),
        msg('u32', 0x80000800, 0x10000, nest(attr(1, u32(0x10010)), attr(5, sel), attr(7, act)), { prio: 1, protocol: ETH_P_IP }),
      ];
      const c = decodeDevice('d0', [msg(kind, 0x10000, ROOT)], [msg(kind, 0x10010, ROOT, opts)], filters) as KernelConfig;
      expect([...c.items.values()]).toEqual([`class add dev d0 parent 1: classid 1:10 ${words}`]);
      expect(c.filters.get('1:')).toEqual([
        'filter add dev d0 parent 1: protocol ip prio 1 handle 800::800 u32 match u32 0xa000001 0xffffffff at 16 flowid 1:10 police rate 1000000bit burst 10000 conform-exceed drop',
      ]);
      const tree = replay(c);
      expect(tree.classes.get(0x10010)!.spec).toEqual(kind === 'drr' ? { kind, quantum: 3000 } : { kind, weight: 5, maxpkt: 2048 });
      expect(tree.filters[0].spec.police).toMatchObject({ rate: 1e6, burst: 10000, exceed: 'drop' });
    }
  });
});
