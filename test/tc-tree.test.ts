/**
 * tc commands against the device trees: what the kernel refuses is refused (exit 2, tree
 * unchanged), accepted commands become the right scheduler classes and link operations,
 * and `show` prints tc's layout.
 */
import { DEFAULT_DEVICE_FACTS } from '../src/net/device.js';
import { describe, expect, it } from 'vitest';
import { TcError } from '../src/tc/errors.js';
import { parseTc } from '../src/tc/grammar.js';
import type { ClassCommand, FilterCommand, QdiscCommand, TcFlags } from '../src/tc/model.js';
import { planCommand, type Plan } from '../src/tc/plan.js';
import { showClasses, showFilters, showQdiscs, type SlotStats } from '../src/tc/show.js';
import { formatRate } from '../src/tc/format.js';
import { treeCommands } from '../src/tc/dump.js';
import { classifierConfig, PacketClassifier } from '../src/tc/packet-classifier.js';
import { linkConfig, type TcTree } from '../src/tc/tree.js';

const DEFAULTS = { linkRate: () => 1e9, device: () => DEFAULT_DEVICE_FACTS, maxClasses: 64 };
const FLAGS: TcFlags = { stats: false, details: false, pretty: false, json: false };

class Host {
  trees = new Map<string, TcTree>();
  plans: Plan[] = [];

  tc(line: string): Plan {
    const c = parseTc(line.split(/\s+/)).command as QdiscCommand | ClassCommand | FilterCommand;
    const plan = planCommand(this.trees, c, DEFAULTS);
    if ('passthrough' in plan) throw new Error(`passed through: ${line}`);
    if (plan.tree) this.trees.set(plan.dev, plan.tree);
    else this.trees.delete(plan.dev);
    this.plans.push(plan);
    return plan;
  }

  script(text: string): void {
    for (const line of text.trim().split('\n')) this.tc(line.trim().replace(/^tc /, ''));
  }

  refuse(line: string): TcError {
    const before = JSON.stringify([...this.trees]);
    try {
      this.tc(line);
    } catch (e) {
      expect(JSON.stringify([...this.trees])).toBe(before);
      return e as TcError;
    }
    throw new Error(`accepted: ${line}`);
  }
}

const HTB_SCRIPT = `
  tc qdisc add dev eth0 root handle 1: htb default 30
  tc class add dev eth0 parent 1: classid 1:1 htb rate 100mbit burst 15k
  tc class add dev eth0 parent 1:1 classid 1:10 htb rate 50mbit ceil 100mbit prio 1
  tc class add dev eth0 parent 1:1 classid 1:20 htb rate 30mbit ceil 100mbit
  tc class add dev eth0 parent 1:1 classid 1:30 htb rate 20mbit ceil 50mbit burst 15k
  tc qdisc add dev eth0 parent 1:10 handle 10: pfifo limit 50
  tc filter add dev eth0 protocol ip parent 1:0 prio 1 u32 match ip dport 5001 0xffff flowid 1:10
  tc filter add dev eth0 protocol ip parent 1:0 prio 1 u32 match ip dport 5002 0xffff flowid 1:20
`;

/** A 64-byte Ethernet frame of an IPv4 UDP datagram from port 5000 to `dport`. */
function udpFrame(dport: number): Uint8Array {
  const b = new Uint8Array(64);
  b.set([0x08, 0x00], 12);
  b[14] = 0x45;
  b[23] = 17;
  b.set([0x13, 0x88, dport >> 8, dport & 0xff], 34);
  return b;
}

describe('tc trees', () => {
  it('an htb script becomes an htb link with one slot per class, parents first, and the direct queue', () => {
    const h = new Host();
    h.script(HTB_SCRIPT);
    const cfg = linkConfig(h.trees.get('eth0')!);
    expect(cfg.scheduler).toBe('htb');
    expect(cfg.rootParams).toEqual({ r2q: 10 });
    expect(cfg.slotOf).toEqual(
      new Map([
        [0x10001, 0],
        [0x10010, 1],
        [0x10020, 2],
        [0x10030, 3],
      ]),
    );
    expect(cfg.classes.get(1)).toEqual({ rate: 5e7, ceil: 1e8, prio: 1, mpu: 0, overhead: 0, atm: false, parent: 0, limitPackets: 50 });
    expect(cfg.classes.get(3)).toEqual({ rate: 2e7, ceil: 5e7, prio: 0, mpu: 0, overhead: 0, atm: false, parent: 0, burst: 15360, limitPackets: 1000 });
    // htb's direct queue holds txqueuelen packets when direct_qlen is not given.
    expect(cfg.classes.get(63)).toEqual({ rate: 1e9, ceil: 1e9, prio: 0, limitPackets: 1000 });
    expect(cfg.unclassifiedSlot).toBe(3); // default 30
    expect(h.plans[0].ops.map((o) => o.op)).toEqual(['createLink', 'setClassifier']);
    expect(h.plans[1].ops).toEqual([
      { op: 'addClass', slot: 0, params: { rate: 1e8, ceil: 1e8, prio: 0, mpu: 0, overhead: 0, atm: false, burst: 15360, limitPackets: 1000 } },
      { op: 'setClassifier', config: expect.anything() },
    ]);
    expect(h.plans[5].ops[0]).toEqual({
      op: 'changeClass',
      slot: 1,
      params: { rate: 5e7, ceil: 1e8, prio: 1, mpu: 0, overhead: 0, atm: false, parent: 0, limitPackets: 50 },
    });
  });

  it('refuses what the kernel refuses, with exit 2 and the tree unchanged', () => {
    const h = new Host();
    h.script(HTB_SCRIPT);
    const cases: [string, string][] = [
      ['qdisc add dev eth0 root handle 2: htb', 'Error: Exclusivity flag on, cannot modify.'],
      ['class add dev eth0 parent 1:1 classid 1:10 htb rate 1mbit', 'RTNETLINK answers: File exists'],
      ['class change dev eth0 parent 1:1 classid 1:99 htb rate 1mbit', 'RTNETLINK answers: No such file or directory'],
      ['class add dev eth0 parent 1: classid 2:1 htb rate 1mbit', "Error: Invalid class ID: its major must be a qdisc's"],
      ['class add dev eth0 parent 1: classid 1:5 drr quantum 1000', 'Error: Specified class kind "drr" does not match'],
      ['class del dev eth0 classid 1:1', 'Error: Class in use by another class.'],
      ['class del dev eth0 classid 1:20', 'Error: Filter in use by the class'],
      ['class add dev eth0 parent 1:10 classid 1:11 htb rate 1mbit', 'Error: Class 1:10 has a leaf qdisc'],
      ['qdisc add dev eth0 parent 1:1 handle 11: pfifo', 'Error: Class is not a leaf'],
      ['qdisc add dev eth0 parent 1:99 handle 11: pfifo', 'Error: Failed to find specified qdisc'],
      ['filter add dev eth0 parent 2: protocol ip u32 match ip dport 1 0xffff flowid 1:10', "Error: Parent Qdisc doesn't exists."],
      ['filter add dev eth0 parent 1: protocol ip prio 1 handle 5 fw classid 1:10', 'Error: Filter kind and protocol must match'],
    ];
    for (const [line, message] of cases) {
      const e = h.refuse(line);
      expect(e, line).toBeInstanceOf(TcError);
      expect(e.exitCode, line).toBe(2);
      expect(e.message, line).toContain(message);
    }
  });

  it('a classid of major 0 (`flowid :1`, `flowid 1`) is what the kernel makes of it: no htb class, a prio band by its minor', () => {
    // Measured on the kernel: htb finds no class 0:1, so `flowid :1` traffic goes through its direct queue.
    const h = new Host();
    h.script(`
      qdisc add dev eth0 root handle 1: htb
      class add dev eth0 parent 1: classid 1:1 htb rate 10mbit
      filter add dev eth0 parent 1: protocol ip prio 1 u32 match ip dport 1 0xffff flowid :1
      filter add dev eth0 parent 1: protocol ip prio 2 u32 match ip dport 2 0xffff flowid 1
      filter add dev eth0 parent 1: protocol ip prio 3 u32 match ip dport 3 0xffff flowid 1:1
    `);
    const htb = new PacketClassifier(classifierConfig(h.trees.get('eth0')!));
    expect([1, 2, 3].map((p) => htb.slotFor(udpFrame(p), 0, 64))).toEqual([63, 63, 0]);
    expect(showFilters(h.trees.get('eth0')!, FLAGS)).toMatch(/\*flowid :1 not_in_hw [\s\S]*\*flowid :1 not_in_hw [\s\S]*\*flowid 1:1 not_in_hw /);
    // prio reads the minor alone: band minor − 1, whatever the major; past its bands, priomap's first.
    h.script(`
      qdisc add dev eth1 root handle 1: prio
      filter add dev eth1 parent 1: protocol ip prio 1 u32 match ip dport 1 0xffff flowid :2
      filter add dev eth1 parent 1: protocol ip prio 2 u32 match ip dport 2 0xffff flowid 5:3
      filter add dev eth1 parent 1: protocol ip prio 3 u32 match ip dport 3 0xffff flowid :9
    `);
    const prio = new PacketClassifier(classifierConfig(h.trees.get('eth1')!));
    expect([1, 2, 3].map((p) => prio.slotFor(udpFrame(p), 0, 64))).toEqual([1, 2, 1]);
  });

  it("a u32 node given the kernel's handle in a later priority's root table (801::805) is placed there and classifies", () => {
    const h = new Host();
    h.script(HTB_SCRIPT);
    h.tc('filter add dev eth0 protocol ip parent 1:0 prio 2 u32 match ip dport 5003 0xffff flowid 1:30');
    h.tc('filter add dev eth0 protocol ip parent 1:0 prio 2 handle 801::805 u32 match ip dport 5004 0xffff flowid 1:20');
    expect(showFilters(h.trees.get('eth0')!, FLAGS, { prio: 2 })).toMatch(/fh 801::805 order 2053 key ht 801 bkt 0 \*flowid 1:20 /);
    const pc = new PacketClassifier(classifierConfig(h.trees.get('eth0')!));
    expect([5003, 5004].map((p) => pc.slotFor(udpFrame(p), 0, 64))).toEqual([3, 2]); // 1:30, 1:20
  });

  it('fq_codel change sets only what it names, as fq_codel_change does; its flows cannot change', () => {
    const h = new Host();
    h.tc('qdisc add dev f root handle 1: fq_codel limit 5000 flows 2048 drop_batch 32 ce_threshold 2ms');
    h.tc('qdisc change dev f root fq_codel limit 2000');
    expect(h.trees.get('f')!.root.qdisc).toMatchObject({ kind: 'fq_codel', limit: 2000, flows: 2048, dropBatch: 32, ceThresholdUs: 2000 });
    expect(showQdiscs(h.trees.get('f')!, FLAGS, new Map())).toBe(
      'qdisc fq_codel 1: root refcnt 2 limit 2000p flows 2048 quantum 1514 target 5ms ce_threshold 2ms interval 100ms memory_limit 32Mb ecn drop_batch 32 ',
    );
    expect(h.refuse('qdisc change dev f root fq_codel flows 1024').message).toBe('RTNETLINK answers: Invalid argument');
    // On a class, the same.
    h.script(`
      qdisc add dev g root handle 1: htb
      class add dev g parent 1: classid 1:1 htb rate 10mbit
      qdisc add dev g parent 1:1 handle 10: fq_codel target 2ms noecn
      qdisc change dev g parent 1:1 handle 10: fq_codel limit 300
    `);
    expect(h.trees.get('g')!.classes.get(0x10001)!.leaf!.qdisc).toMatchObject({ limit: 300, targetUs: 2000, ecn: false });
  });

  it('accepts what the kernel accepts though it names nothing: a missing parent class, a filter to a class not there yet', () => {
    const h = new Host();
    h.script(HTB_SCRIPT);
    // sch_htb finds no class 1:77 and makes 1:78 a top-level class.
    h.tc('class add dev eth0 parent 1:77 classid 1:78 htb rate 1mbit');
    expect(h.trees.get('eth0')!.classes.get(0x10078)).toMatchObject({ parent: 0x10000, owner: 0x10000 });
    // Until class 1:99 exists, what the filter matches goes where unclassified packets go.
    const before = linkConfig(h.trees.get('eth0')!);
    h.tc('filter add dev eth0 parent 1: protocol ip prio 2 u32 match ip dport 1 0xffff flowid 1:99');
    const after = linkConfig(h.trees.get('eth0')!);
    expect(after.slotOf.has(0x10099)).toBe(false);
    expect(after.unclassifiedSlot).toBe(before.unclassifiedSlot);
  });

  it('attaches sfq and fq_codel to classes as leaf disciplines, and takes them off again', () => {
    const h = new Host();
    h.script(HTB_SCRIPT);
    const add = h.tc('qdisc add dev eth0 parent 1:20 handle 20: fq_codel target 2ms');
    expect(add.ops[0]).toEqual({
      op: 'changeClass',
      slot: 2,
      params: expect.objectContaining({ leaf: { kind: 'fq_codel', params: expect.objectContaining({ targetUs: 2000, flows: 1024 }) } }),
    });
    h.tc('qdisc replace dev eth0 parent 1:30 handle 30: sfq perturb 10');
    expect(linkConfig(h.trees.get('eth0')!).classes.get(3)!.leaf).toEqual({
      kind: 'sfq',
      params: expect.objectContaining({ perturbS: 10, limitPackets: 127 }),
    });
    const del = h.tc('qdisc del dev eth0 parent 1:20 handle 20:');
    expect(del.ops[0]).toEqual({ op: 'changeClass', slot: 2, params: expect.objectContaining({ leaf: null, limitPackets: 1000 }) });
  });

  it('nests a prio or drr qdisc inside a class, with its own classes and filters', () => {
    const h = new Host();
    h.script(HTB_SCRIPT);
    h.script(`
      qdisc add dev eth0 parent 1:20 handle 20: prio bands 3
      filter add dev eth0 parent 20: protocol ip prio 1 u32 match ip tos 0x10 0xff flowid 20:1
      qdisc add dev eth0 parent 1:30 handle 30: drr
      class add dev eth0 parent 30: classid 30:1 drr quantum 3000
      class add dev eth0 classid 30:2 parent 30: drr
      filter add dev eth0 parent 30: protocol ip prio 1 u32 match ip dport 5003 0xffff flowid 30:2
    `);
    const t = h.trees.get('eth0')!;
    const cfg = linkConfig(t);
    expect(cfg.classes.get(2)!.leaf).toEqual({ kind: 'prio', params: {}, classes: [0, 1, 2].map((b) => ({ slot: b, band: b, limitPackets: 1000 })) });
    expect(cfg.classes.get(3)!.leaf).toEqual({
      kind: 'drr',
      params: {},
      classes: [
        { slot: 0, quantum: 3000, limitPackets: 1000 },
        { slot: 1, limitPackets: 1000 },
      ],
    });
    expect([...cfg.slotOf.keys()]).toEqual([0x10001, 0x10010, 0x10020, 0x10030]); // inner classes are not root slots

    // Two-stage classification: the root's filters pick 1:20 or 1:30, the inner qdisc's its class.
    const pc = new PacketClassifier(classifierConfig(t));
    const frame = (tos: number, dport: number) => {
      const b = new Uint8Array(64);
      b.set([0x08, 0x00], 12);
      b[14] = 0x45;
      b[15] = tos;
      b[23] = 17;
      b.set([0x13, 0x88, dport >> 8, dport & 0xff], 34);
      return b;
    };
    expect([pc.slotFor(frame(0x10, 5002), 0, 64), pc.lastSub]).toEqual([2, 0]); // 20:1
    expect([pc.slotFor(frame(0x00, 5002), 0, 64), pc.lastSub]).toEqual([2, 1]); // priomap[0] = band 1
    expect([pc.slotFor(frame(0x00, 5003), 0, 64), pc.lastSub]).toEqual([3, 1]); // 30:2 (default 1:30)
    expect(pc.slotFor(frame(0x00, 5009), 0, 64)).toBe(-1); // 1:30's drr classifies nothing else: dropped

    // Refusals inside the inner qdiscs, tree unchanged.
    for (const [line, message] of [
      ['class add dev eth0 parent 30: classid 30:3 htb rate 1mbit', 'Error: Specified class kind "htb" does not match the qdisc\'s ("drr").'],
      ['filter add dev eth0 parent 40: protocol ip prio 2 u32 match ip dport 1 0xffff flowid 40:1', "Error: Parent Qdisc doesn't exists."],
      ['qdisc add dev eth0 parent 30:1 handle 50: prio', 'Error: pspat: a classful qdisc inside an inner qdisc'],
    ]) {
      const e = h.refuse(line);
      expect(e.exitCode, line).toBe(2);
      expect(e.message, line).toContain(message);
    }
    // tc show names inner classes under their qdisc; a dump replays to the same tree.
    expect(showClasses(t, FLAGS, new Map(), 0x300001)).toBe('class drr 30:1 root quantum 3000b ');
    expect(showClasses(t, FLAGS, new Map(), 0x200002)).toBe('class prio 20:2 parent 20: ');
    const replay = new Host();
    replay.script(treeCommands(t).join('\n'));
    expect(linkConfig(replay.trees.get('eth0')!)).toEqual(cfg);
    expect(classifierConfig(replay.trees.get('eth0')!)).toEqual(classifierConfig(t));

    // Shapers inside a class: a tbf is a one-class htb; an inner htb has its classes, default and direct queue.
    h.script(`
      qdisc replace dev eth0 parent 1:10 handle 10: tbf rate 2mbit burst 10k latency 20ms
      qdisc del dev eth0 parent 1:20 handle 20:
      qdisc add dev eth0 parent 1:20 handle 40: htb default 2
      class add dev eth0 parent 40: classid 40:1 htb rate 1mbit ceil 5mbit
      class add dev eth0 parent 40:1 classid 40:2 htb rate 500kbit ceil 5mbit prio 1
    `);
    const shaped = linkConfig(h.trees.get('eth0')!);
    expect(shaped.classes.get(1)!.leaf).toEqual({
      kind: 'htb',
      params: {},
      classes: [
        { slot: 0, rate: 2e6, ceil: 2e6, burst: 10240, cburst: 10240, mpu: 0, overhead: 0, atm: false, limitPackets: 2 ** 32 - 1, limitBytes: 5000 + 10240 },
      ],
    });
    expect(shaped.classes.get(2)!.leaf).toEqual({
      kind: 'htb',
      params: { r2q: 10 },
      classes: [
        { slot: 0, rate: 1e6, ceil: 5e6, prio: 0, mpu: 0, overhead: 0, atm: false, limitPackets: 1000 },
        { slot: 1, rate: 5e5, ceil: 5e6, prio: 1, mpu: 0, overhead: 0, atm: false, parent: 0, limitPackets: 1000 },
        { slot: 63, rate: 1e9, ceil: 1e9, prio: 0, limitPackets: 1000 },
      ],
    });
    expect(classifierConfig(h.trees.get('eth0')!).inner.find(([slot]) => slot === 2)![1].unclassifiedSlot).toBe(1); // default 2 -> 40:2
    const replayShaped = new Host();
    replayShaped.script(treeCommands(h.trees.get('eth0')!).join('\n'));
    expect(linkConfig(replayShaped.trees.get('eth0')!)).toEqual(shaped);

    // Deleting the inner qdisc takes its classes and filters with it.
    h.tc('qdisc del dev eth0 parent 1:30 handle 30:');
    expect([...h.trees.get('eth0')!.classes.keys()].filter((id) => id >> 16 === 0x30)).toEqual([]);
    expect(h.trees.get('eth0')!.filters.filter((f) => f.parent === 0x300000)).toEqual([]);
    expect(linkConfig(h.trees.get('eth0')!).classes.get(3)!.leaf).toBeUndefined();
  });

  it('deletes leaves before parents and the link with the root; other devices pass through', () => {
    const h = new Host();
    h.script(HTB_SCRIPT);
    h.tc('filter del dev eth0 parent 1: prio 1');
    expect(h.trees.get('eth0')!.filters).toEqual([]);
    h.tc('class del dev eth0 classid 1:30');
    expect(h.plans.at(-1)!.ops[0]).toEqual({ op: 'deleteClass', slot: 3 });
    expect(h.tc('qdisc del dev eth0 root').ops).toEqual([{ op: 'deleteLink' }]);
    expect(h.trees.has('eth0')).toBe(false);
    const c = parseTc('class add dev eth1 parent 1: classid 1:1 htb rate 1mbit'.split(' ')).command as ClassCommand;
    expect(planCommand(h.trees, c, DEFAULTS)).toEqual({ passthrough: true, reason: 'eth1 is not managed by pspat' });
  });

  it('maps prio, tbf, drr, qfq and fifo roots onto schedulers', () => {
    const h = new Host();
    h.tc('qdisc add dev a root handle 1: prio bands 4 priomap 3 2 2 2 1 2 0 0 1 1 1 1 1 1 1 1');
    expect(linkConfig(h.trees.get('a')!)).toMatchObject({
      scheduler: 'prio',
      unclassifiedSlot: 3,
      priomapSlots: [3, 2, 2, 2, 1, 2, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1],
    });
    expect([...h.trees.get('a')!.classes.keys()]).toEqual([0x10001, 0x10002, 0x10003, 0x10004]);
    h.tc('qdisc add dev b root tbf rate 10mbit burst 100kb latency 50ms');
    expect(linkConfig(h.trees.get('b')!)).toMatchObject({
      scheduler: 'htb',
      classes: new Map([[0, { rate: 1e7, ceil: 1e7, burst: 102400, cburst: 102400, limitBytes: 164900 }]]),
      unclassifiedSlot: 0,
    });
    h.script(`
      qdisc add dev c root handle 1: drr
      class add dev c parent 1: classid 1:1 drr quantum 3000
      class add dev c parent 1: classid 1:2 drr
    `);
    expect(linkConfig(h.trees.get('c')!)).toMatchObject({
      scheduler: 'drr',
      classes: new Map([
        [0, { quantum: 3000, limitPackets: 1000 }],
        [1, { limitPackets: 1000 }],
      ]),
      unclassifiedSlot: -1,
    });
    h.script(`
      qdisc add dev d root handle 1: qfq
      class add dev d parent 1: classid 1:1 qfq weight 10 maxpkt 1514
    `);
    expect(linkConfig(h.trees.get('d')!).classes.get(0)).toEqual({ weight: 10, maxpkt: 1514, limitPackets: 1000 });
    h.tc('qdisc add dev f root handle 1: fq_codel limit 2000 target 2ms noecn');
    expect(linkConfig(h.trees.get('f')!)).toMatchObject({
      scheduler: 'fq_codel',
      rootParams: { limitPackets: 2000, flows: 1024, targetUs: 2000, intervalUs: 100000 },
      unclassifiedSlot: 0,
    });
    h.tc('qdisc add dev g root sfq perturb 10 quantum 3000');
    expect(linkConfig(h.trees.get('g')!)).toMatchObject({ scheduler: 'sfq', rootParams: { limitPackets: 127, perturbS: 10, quantum: 3000, divisor: 1024 } });
    h.tc('qdisc add dev e root pfifo limit 100');
    expect(linkConfig(h.trees.get('e')!)).toMatchObject({ scheduler: 'fifo', rootParams: { limitPackets: 100 } });
    // Replacing the root with another kind is a new link.
    expect(h.tc('qdisc replace dev e root handle 1: drr').ops.map((o) => o.op)).toEqual(['deleteLink', 'createLink', 'setClassifier']);
  });
});

describe('tc show', () => {
  const stats = new Map<number, SlotStats>([
    [1, { bytes: 150000, packets: 100, drops: 3, overlimits: 7, backlogBytes: 3000, backlogPackets: 2, lends: 90, borrows: 10, tokens: 1500, ctokens: 1400 }],
    [2, { bytes: 1500, packets: 1, drops: 0, overlimits: 0, backlogBytes: 0, backlogPackets: 0 }],
  ]);

  it('qdisc show prints the root and leaf qdiscs, with -s their counters', () => {
    const h = new Host();
    h.script(HTB_SCRIPT);
    const t = h.trees.get('eth0')!;
    // As iproute2 6.1 prints them (test/tc-testing holds the same against the kernel): no trailing space after htb's or pfifo's options.
    expect(showQdiscs(t, FLAGS, stats)).toBe(
      ['qdisc htb 1: root refcnt 2 r2q 10 default 0x30 direct_packets_stat 0 direct_qlen 1000', 'qdisc pfifo 10: parent 1:10 limit 50p'].join('\n'),
    );
    // The direct queue (slot 63 here) is what direct_packets_stat counts.
    expect(showQdiscs(t, FLAGS, new Map([[63, { ...stats.get(2)!, packets: 7 }]]))).toMatch(/direct_packets_stat 7 /);
    expect(showQdiscs(t, { ...FLAGS, stats: true }, stats)).toBe(
      [
        'qdisc htb 1: root refcnt 2 r2q 10 default 0x30 direct_packets_stat 0 direct_qlen 1000',
        ' Sent 151500 bytes 101 pkt (dropped 3, overlimits 7 requeues 0) ',
        ' backlog 3000b 2p requeues 0',
        'qdisc pfifo 10: parent 1:10 limit 50p',
        ' Sent 150000 bytes 100 pkt (dropped 3, overlimits 7 requeues 0) ',
        ' backlog 3000b 2p requeues 0',
      ].join('\n'),
    );
  });

  it("prints rates as tc's print_rate does", () => {
    expect([30e6, 1.5e9, 5e5, 27_766_514, 999, 8e3, 6e9].map(formatRate)).toEqual(['30Mbit', '1500Mbit', '500Kbit', '27766Kbit', '999bit', '8Kbit', '6Gbit']);
  });

  it('class show prints rates and sizes as tc does; -s adds htb counters', () => {
    const h = new Host();
    h.script(HTB_SCRIPT);
    const t = h.trees.get('eth0')!;
    // Bursts as the kernel stores them (a time in ticks, read back): the same script on the kernel prints these.
    expect(showClasses(t, FLAGS, stats)).toBe(
      [
        'class htb 1:1 root rate 100Mbit ceil 100Mbit burst 15337b cburst 1600b ',
        'class htb 1:10 parent 1:1 leaf 10: prio 1 rate 50Mbit ceil 100Mbit burst 1600b cburst 1600b ',
        'class htb 1:20 parent 1:1 prio 0 rate 30Mbit ceil 100Mbit burst 1593b cburst 1600b ',
        'class htb 1:30 parent 1:1 prio 0 rate 20Mbit ceil 50Mbit burst 15Kb cburst 1600b ',
      ].join('\n'),
    );
    // Tokens in the kernel's ticks: 1500 B at 50 Mbit/s is 240 us, 3750 ticks of 64 ns.
    expect(showClasses(t, { ...FLAGS, stats: true }, stats, 0x10010)).toBe(
      [
        'class htb 1:10 parent 1:1 leaf 10: prio 1 rate 50Mbit ceil 100Mbit burst 1600b cburst 1600b ',
        ' Sent 150000 bytes 100 pkt (dropped 3, overlimits 7 requeues 0) ',
        ' backlog 3000b 2p requeues 0',
        ' lended: 90 borrowed: 10 giants: 0',
        ' tokens: 3750 ctokens: 1750',
        '',
      ].join('\n'),
    );
    // An inner class counts what its children sent (sch_htb charges every ancestor); its own drops and backlog stay its own.
    expect((showClasses(t, { ...FLAGS, stats: true }, stats, 0x10001) as string).split('\n')[1]).toBe(
      ' Sent 151500 bytes 101 pkt (dropped 0, overlimits 0 requeues 0) ',
    );
    expect(showClasses(t, { ...FLAGS, json: true, stats: true }, stats, 0x10010)).toEqual([
      {
        class: 'htb',
        handle: '1:10',
        parent: '1:1',
        leaf: '10:',
        prio: 1,
        rate: 6250000,
        ceil: 12500000,
        burst: 1600,
        cburst: 1600,
        bytes: 150000,
        packets: 100,
        drops: 3,
        overlimits: 7,
        requeues: 0,
        backlog: 3000,
        qlen: 2,
      },
    ]);
  });

  it('filter show lists u32 keys as tc does', () => {
    const h = new Host();
    h.script(HTB_SCRIPT);
    // The priority's header, its root table 800:, and the nodes the kernel numbers from 800.
    expect(showFilters(h.trees.get('eth0')!, FLAGS)).toBe(
      [
        'filter parent 1: protocol ip pref 1 u32 chain 0 ',
        'filter parent 1: protocol ip pref 1 u32 chain 0 fh 800: ht divisor 1 ',
        'filter parent 1: protocol ip pref 1 u32 chain 0 fh 800::800 order 2048 key ht 800 bkt 0 *flowid 1:10 not_in_hw ',
        '  match 00001389/0000ffff at 20',
        'filter parent 1: protocol ip pref 1 u32 chain 0 fh 800::801 order 2049 key ht 800 bkt 0 *flowid 1:20 not_in_hw ',
        '  match 0000138a/0000ffff at 20',
      ].join('\n'),
    );
    // A second priority gets the next root table; with the parent named, lines leave it out.
    h.tc('filter add dev eth0 protocol ip parent 1:0 prio 2 u32 match ip dport 5003 0xffff flowid 1:30');
    expect((showFilters(h.trees.get('eth0')!, FLAGS, { parent: 0x10000 }) as string).split('\n').slice(6)).toEqual([
      'filter protocol ip pref 2 u32 chain 0 ',
      'filter protocol ip pref 2 u32 chain 0 fh 801: ht divisor 1 ',
      'filter protocol ip pref 2 u32 chain 0 fh 801::800 order 2048 key ht 801 bkt 0 *flowid 1:30 not_in_hw ',
      '  match 0000138b/0000ffff at 20',
    ]);
  });

  it("a root's size table reaches the link as its scheduler's sizeTable, replays through a config dump, and goes with a change that gives none", () => {
    const h = new Host();
    const plan = h.tc('qdisc add dev eth0 root handle 1: stab linklayer atm overhead 44 tbf rate 8mbit burst 10kb limit 30kb');
    const table = plan.config!.rootParams.sizeTable!;
    expect([table.overhead, table.cellLog, table.cellAlign, table.data.length]).toEqual([44, 2, -1, 512]);
    // Slot 26 holds 105..108 bytes: 3 ATM cells.
    expect(table.data[26]).toBe(159);
    expect(treeCommands(h.trees.get('eth0')!)[0]).toBe(
      'qdisc add dev eth0 root handle 1: stab linklayer atm overhead 44 mtu 2047 tsize 512 tbf rate 8000000bit burst 10240 limit 30720',
    );
    // A change of the root with no stab: the kernel drops the table, and the link with it (a new scheduler, the old packets counted dropped).
    const changed = h.tc('qdisc change dev eth0 root handle 1: tbf rate 8mbit burst 10kb limit 30kb');
    expect(changed.config!.rootParams.sizeTable).toBeUndefined();
    expect(changed.ops.map((o) => o.op)).toEqual(['deleteLink', 'createLink', 'setClassifier']);
    // `linklayer ethernet` alone changes no length: the link gets no table.
    expect(h.tc('qdisc replace dev eth1 root handle 1: stab linklayer ethernet pfifo').config!.rootParams.sizeTable).toBeUndefined();
  });

  it("sfq's change sets only what it names, except perturb and headdrop, which every command sets (sfq_change); a limit caps the flows", () => {
    const h = new Host();
    h.tc('qdisc add dev eth0 root handle 1: sfq perturb 10 limit 50 depth 20 headdrop');
    const sfq = () => h.trees.get('eth0')!.root.qdisc;
    expect(sfq()).toEqual({ kind: 'sfq', perturbS: 10, limit: 50, divisor: 1024, flows: 50, depth: 20, headdrop: true });
    h.tc('qdisc change dev eth0 root handle 1: sfq quantum 3000');
    expect(sfq()).toEqual({ kind: 'sfq', perturbS: 0, limit: 50, divisor: 1024, flows: 50, depth: 20, headdrop: false, quantum: 3000 });
    // The limit is capped at what the flows and depth can hold.
    h.tc('qdisc change dev eth0 root handle 1: sfq flows 4 limit 1000');
    expect(sfq()).toMatchObject({ limit: 80, flows: 4, depth: 20 });
    expect(h.refuse('qdisc change dev eth0 root handle 1: sfq divisor 1000').message).toBe('RTNETLINK answers: Invalid argument');
  });
});
