/**
 * `pspat tc` command lines, from tc's man pages and from what libvirt, OpenStack and
 * shaping scripts emit, parse to the model; invalid ones fail as tc does (message and
 * exit status).
 */
import { describe, expect, it } from 'vitest';
import { TcError } from '../src/tc/errors.js';
import { parseTc } from '../src/tc/grammar.js';
import { TC_H_ROOT } from '../src/tc/handles.js';

const argv = (line: string) => line.split(/\s+/).filter(Boolean);
const cmd = (line: string) => parseTc(argv(line)).command;

const HTB_CLASS = { kind: 'htb', prio: 0, mtu: 1600, mpu: 0, overhead: 0 };

describe('tc grammar: qdiscs', () => {
  it.each([
    [
      'qdisc add dev eth0 root handle 1: htb default 30',
      { object: 'qdisc', verb: 'add', dev: 'eth0', parent: TC_H_ROOT, handle: 0x10000, qdisc: { kind: 'htb', defaultClass: 0x30, r2q: 10 } },
    ],
    [
      'qdisc add dev vnet0 root handle 1: htb default 1 r2q 5 direct_qlen 100',
      { object: 'qdisc', verb: 'add', dev: 'vnet0', parent: TC_H_ROOT, handle: 0x10000, qdisc: { kind: 'htb', defaultClass: 1, r2q: 5, directQlen: 100 } },
    ],
    [
      'qd a handle 10: root dev eth0 htb',
      { object: 'qdisc', verb: 'add', dev: 'eth0', parent: TC_H_ROOT, handle: 0x100000, qdisc: { kind: 'htb', defaultClass: 0, r2q: 10 } },
    ],
    [
      'qdisc add dev vnet0 parent 1:1 handle 2: sfq perturb 10',
      {
        object: 'qdisc',
        verb: 'add',
        dev: 'vnet0',
        parent: 0x10001,
        handle: 0x20000,
        qdisc: { kind: 'sfq', perturbS: 10, limit: 127, divisor: 1024, flows: 128, depth: 127, headdrop: false },
      },
    ],
    [
      'qdisc add dev eth0 parent 1:20 handle 20: fq_codel limit 1000 target 2ms interval 50ms noecn quantum 300',
      {
        object: 'qdisc',
        verb: 'add',
        dev: 'eth0',
        parent: 0x10020,
        handle: 0x200000,
        qdisc: {
          kind: 'fq_codel',
          limit: 1000,
          flows: 1024,
          targetUs: 2000,
          intervalUs: 50_000,
          quantum: 300,
          ecn: false,
          memoryLimit: 32 << 20,
          dropBatch: 64,
        },
      },
    ],
    ['qdisc add dev eth0 parent 1:30 pfifo limit 50', { object: 'qdisc', verb: 'add', dev: 'eth0', parent: 0x10030, qdisc: { kind: 'pfifo', limit: 50 } }],
    [
      'qdisc replace dev eth0 parent 1:40 bfifo limit 64kb',
      { object: 'qdisc', verb: 'replace', dev: 'eth0', parent: 0x10040, qdisc: { kind: 'bfifo', limit: 65536 } },
    ],
    // OpenStack's bandwidth limit on a tap: limit = rate × latency + burst, as tc computes it.
    [
      'qdisc add dev tap0 root tbf rate 10mbit burst 100kb latency 50ms',
      { object: 'qdisc', verb: 'add', dev: 'tap0', parent: TC_H_ROOT, qdisc: { kind: 'tbf', rate: 1e7, burst: 102400, limit: 62500 + 102400 } },
    ],
    [
      'qdisc change dev tap0 root tbf rate 1gbit burst 1mb/8 limit 3000000',
      { object: 'qdisc', verb: 'change', dev: 'tap0', parent: TC_H_ROOT, qdisc: { kind: 'tbf', rate: 1e9, burst: 1 << 20, limit: 3000000 } },
    ],
    [
      'qdisc add dev eth0 root handle 1: prio bands 4 priomap 3 2 2 2 1 2 0 0 1 1 1 1 1 1 1 1',
      {
        object: 'qdisc',
        verb: 'add',
        dev: 'eth0',
        parent: TC_H_ROOT,
        handle: 0x10000,
        qdisc: { kind: 'prio', bands: 4, priomap: [3, 2, 2, 2, 1, 2, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1] },
      },
    ],
    [
      'qdisc add dev eth0 root handle 1: prio',
      {
        object: 'qdisc',
        verb: 'add',
        dev: 'eth0',
        parent: TC_H_ROOT,
        handle: 0x10000,
        qdisc: { kind: 'prio', bands: 3, priomap: [1, 2, 2, 2, 1, 2, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1] },
      },
    ],
    ['qdisc add dev eth0 root handle 1: drr', { object: 'qdisc', verb: 'add', dev: 'eth0', parent: TC_H_ROOT, handle: 0x10000, qdisc: { kind: 'drr' } }],
    ['qdisc add dev eth0 root handle 1: qfq', { object: 'qdisc', verb: 'add', dev: 'eth0', parent: TC_H_ROOT, handle: 0x10000, qdisc: { kind: 'qfq' } }],
    ['qdisc del dev eth0 root', { object: 'qdisc', verb: 'delete', dev: 'eth0', parent: TC_H_ROOT }],
    [
      'qdisc delete dev eth0 parent 1:10 handle 10: sfq',
      {
        object: 'qdisc',
        verb: 'delete',
        dev: 'eth0',
        parent: 0x10010,
        handle: 0x100000,
        qdisc: { kind: 'sfq', perturbS: 0, limit: 127, divisor: 1024, flows: 128, depth: 127, headdrop: false },
      },
    ],
  ])('%s', (line, model) => expect(cmd(line)).toEqual(model));
});

describe('tc grammar: classes', () => {
  it.each([
    [
      'class add dev eth0 parent 1: classid 1:1 htb rate 100mbit burst 15k',
      { object: 'class', verb: 'add', dev: 'eth0', parent: 0x10000, classid: 0x10001, cls: { ...HTB_CLASS, rate: 1e8, ceil: 1e8, burst: 15360 } },
    ],
    [
      'class add dev eth0 parent 1:1 classid 1:10 htb rate 5mbit ceil 100mbit prio 1 quantum 1514',
      { object: 'class', verb: 'add', dev: 'eth0', parent: 0x10001, classid: 0x10010, cls: { ...HTB_CLASS, rate: 5e6, ceil: 1e8, prio: 1, quantum: 1514 } },
    ],
    // libvirt's <bandwidth><outbound average=1000 peak=2000 burst=256/>: kbps are kilobytes.
    [
      'class add dev vnet0 parent 1: classid 1:1 htb rate 1000kbps ceil 2000kbps burst 256kb quantum 21875',
      {
        object: 'class',
        verb: 'add',
        dev: 'vnet0',
        parent: 0x10000,
        classid: 0x10001,
        cls: { ...HTB_CLASS, rate: 8e6, ceil: 16e6, burst: 262144, quantum: 21875 },
      },
    ],
    [
      'class change dev eth0 classid 1:10 parent 1:1 htb rate 20Mbit ceil 1.5gbit cburst 30k mpu 64 mtu 9000',
      {
        object: 'class',
        verb: 'change',
        dev: 'eth0',
        parent: 0x10001,
        classid: 0x10010,
        cls: { ...HTB_CLASS, rate: 2e7, ceil: 1.5e9, cburst: 30720, mpu: 64, mtu: 9000 },
      },
    ],
    [
      'class add dev eth0 parent 1: classid 1:1 drr quantum 1500',
      { object: 'class', verb: 'add', dev: 'eth0', parent: 0x10000, classid: 0x10001, cls: { kind: 'drr', quantum: 1500 } },
    ],
    [
      'class add dev eth0 parent 1: classid 1:2 qfq weight 10 maxpkt 1514',
      { object: 'class', verb: 'add', dev: 'eth0', parent: 0x10000, classid: 0x10002, cls: { kind: 'qfq', weight: 10, maxpkt: 1514 } },
    ],
    [
      'cl rep dev eth0 parent 1: classid 1:1 htb rate 6000000000',
      { object: 'class', verb: 'replace', dev: 'eth0', parent: 0x10000, classid: 0x10001, cls: { ...HTB_CLASS, rate: 6e9, ceil: 6e9 } },
    ],
    ['class del dev eth0 classid 1:10', { object: 'class', verb: 'delete', dev: 'eth0', classid: 0x10010 }],
  ])('%s', (line, model) => expect(cmd(line)).toEqual(model));
});

describe('tc grammar: filters', () => {
  const u32 = (keys: object[], extra: object = {}) => ({ kind: 'u32', keys, ...extra });
  it.each([
    [
      'filter add dev eth0 protocol ip parent 1:0 prio 1 u32 match ip dst 10.0.0.0/8 flowid 1:10',
      { protocol: 0x800, parent: 0x10000, prio: 1, filter: u32([{ value: 0x0a000000, mask: 0xff000000, off: 16, nexthdr: false }], { classid: 0x10010 }) },
    ],
    // Ports share one 32-bit word at offset 20; the protocol byte sits in the word at 8.
    [
      'filter add dev eth0 parent 1: protocol ip prio 2 u32 match ip sport 80 0xffff match ip dport 53 0xffff match ip protocol 6 0xff flowid 1:20',
      {
        protocol: 0x800,
        parent: 0x10000,
        prio: 2,
        filter: u32(
          [
            { value: 0x00500035, mask: 0xffffffff, off: 20, nexthdr: false },
            { value: 0x00060000, mask: 0x00ff0000, off: 8, nexthdr: false },
          ],
          { classid: 0x10020 },
        ),
      },
    ],
    [
      'filter add dev eth0 parent 1: pref 3 protocol ip u32 match ip tos 0x10 0xff classid 1:30',
      { protocol: 0x800, parent: 0x10000, prio: 3, filter: u32([{ value: 0x00100000, mask: 0x00ff0000, off: 0, nexthdr: false }], { classid: 0x10030 }) },
    ],
    [
      'filter add dev eth0 parent 1: protocol all u32 match u16 0x0800 0xffff at -2 match u8 0x11 0xff at nexthdr+9 flowid :5',
      {
        protocol: 3,
        parent: 0x10000,
        filter: u32(
          [
            { value: 0x0800, mask: 0xffff, off: -4, nexthdr: false },
            { value: 0x00110000, mask: 0x00ff0000, off: 8, nexthdr: true },
          ],
          { classid: 5 },
        ),
      },
    ],
    // libvirt's per-interface filter on a bridge, keyed by the VM's MAC.
    [
      'filter add dev virbr0 parent 1:0 protocol all prio 2 handle 800::800 u32 match ether src 52:54:00:11:22:33 flowid 1:3',
      {
        protocol: 3,
        parent: 0x10000,
        prio: 2,
        handle: '800::800',
        filter: u32(
          [
            { value: 0x52540011, mask: 0xffffffff, off: -8, nexthdr: false },
            { value: 0x22330000, mask: 0xffff0000, off: -4, nexthdr: false },
          ],
          { handle: 0x80000800, classid: 0x10003 },
        ),
      },
    ],
    [
      'filter add dev eth0 parent 1:0 prio 5 handle 2: protocol ip u32 divisor 256',
      { protocol: 0x800, parent: 0x10000, prio: 5, handle: '2:', filter: u32([], { handle: 0x00200000, divisor: 256 }) },
    ],
    [
      'filter add dev eth0 protocol ip parent 1:0 prio 5 u32 ht 800:: match ip src 10.0.0.0/16 hashkey mask 0x000000ff at 12 link 2:',
      {
        protocol: 0x800,
        parent: 0x10000,
        prio: 5,
        filter: u32([{ value: 0x0a000000, mask: 0xffff0000, off: 12, nexthdr: false }], { ht: 0x80000000, hashkey: { mask: 0xff, off: 12 }, link: 0x00200000 }),
      },
    ],
    [
      'filter add dev eth0 protocol ip parent 1:0 prio 5 u32 ht 2:7b: match ip src 10.0.0.123 flowid 1:123',
      {
        protocol: 0x800,
        parent: 0x10000,
        prio: 5,
        filter: u32([{ value: 0x0a00007b, mask: 0xffffffff, off: 12, nexthdr: false }], { ht: 0x0027b000, classid: 0x10123 }),
      },
    ],
    [
      'filter add dev eth0 parent 1: protocol ip prio 1 u32 match ip src 0.0.0.0/0 police rate 1mbit burst 10k drop flowid :1',
      { protocol: 0x800, parent: 0x10000, prio: 1, filter: u32([], { police: { rate: 1e6, burst: 10240, exceed: 'drop' }, classid: 1 }) },
    ],
    [
      'filter add dev eth0 parent 1:0 protocol ip prio 1 handle 6 fw flowid 1:30',
      { protocol: 0x800, parent: 0x10000, prio: 1, handle: '6', filter: { kind: 'fw', mark: 6, mask: 0xffffffff, classid: 0x10030 } },
    ],
    [
      'filter add dev eth0 parent 1: handle 0x10/0xff fw classid 1:40',
      { protocol: 3, parent: 0x10000, handle: '0x10/0xff', filter: { kind: 'fw', mark: 0x10, mask: 0xff, classid: 0x10040 } },
    ],
    ['filter add dev eth0 parent 1: matchall classid 1:1', { protocol: 3, parent: 0x10000, filter: { kind: 'matchall', classid: 0x10001 } }],
    [
      'filter replace dev eth0 parent 1: prio 10 basic classid 1:2',
      { verb: 'replace', protocol: 3, parent: 0x10000, prio: 10, filter: { kind: 'basic', classid: 0x10002 } },
    ],
  ])('%s', (line, model) => {
    const words = line.split(' ');
    const args = words.slice(words.indexOf(model.filter.kind)); // kept as written, for config dumps
    expect(cmd(line)).toEqual({ object: 'filter', verb: 'add', dev: words[3], ...model, args });
  });

  it('deletes by parent and prio', () => {
    expect(cmd('filter del dev eth0 parent 1: prio 1')).toEqual({ object: 'filter', verb: 'delete', dev: 'eth0', parent: 0x10000, protocol: 3, prio: 1 });
  });
});

describe('tc grammar: show, flags, and what goes to the system tc', () => {
  it.each([
    ['-s qdisc show dev eth0', { stats: true, details: false, pretty: false, json: false }, { object: 'qdisc', verb: 'show', dev: 'eth0' }],
    ['-s -d class show dev eth0', { stats: true, details: true, pretty: false, json: false }, { object: 'class', verb: 'show', dev: 'eth0' }],
    ['-j -p qdisc ls', { stats: false, details: false, pretty: true, json: true }, { object: 'qdisc', verb: 'show' }],
    ['-statistics qd', { stats: true, details: false, pretty: false, json: false }, { object: 'qdisc', verb: 'show' }],
    [
      'filter show dev eth0 parent 1:',
      { stats: false, details: false, pretty: false, json: false },
      { object: 'filter', verb: 'show', dev: 'eth0', parent: 0x10000 },
    ],
    [
      'class list dev eth0 classid 1:10',
      { stats: false, details: false, pretty: false, json: false },
      { object: 'class', verb: 'show', dev: 'eth0', classid: 0x10010 },
    ],
  ])('%s', (line, flags, command) => expect(parseTc(argv(line))).toEqual({ flags, command }));

  it.each([
    'qdisc add dev eth0 ingress',
    'qdisc add dev eth0 handle ffff: ingress',
    'qdisc add dev eth0 clsact',
    'qdisc del dev eth0 ingress',
    'filter add dev eth0 parent ffff: protocol all u32 match u32 0 0 police rate 1mbit burst 10k drop flowid :1',
    'filter add dev eth0 ingress matchall action drop',
    'filter add dev eth0 egress prio 1 bpf da obj prog.o',
    'actions list action gact',
    'monitor',
    '-batch /tmp/cmds',
    '-n vm1 qdisc show',
    'qdisc show dev eth0 ingress',
    'help',
  ])('passes "%s" to the system tc', (line) => {
    expect(cmd(line)).toMatchObject({ passthrough: true });
  });
});

describe('tc grammar: errors, as tc gives them', () => {
  it.each([
    ['qdisc add dev eth0 root handle 1:x htb', 255, 'Error: argument "1:x" is wrong: invalid qdisc ID'],
    ['class add dev eth0 parent 1: classid 1:zz htb rate 1mbit', 255, 'Error: argument "1:zz" is wrong: invalid class ID'],
    ['qdisc add dev eth0 root handle 1: handle 2: htb', 255, 'Error: duplicate "handle": "2:" is the second value.'],
    ['filter add dev eth0 parent 1: protocol ipx u32 match ip src 1.2.3.4 flowid 1:1', 255, 'Error: argument "ipx" is wrong: invalid protocol'],
    ['filter add dev eth0 parent 1: prio high u32 flowid 1:1', 255, 'Error: argument "high" is wrong: invalid priority value'],
    ['qdisc add dev eth0 root htb defualt 10', 1, 'What is "defualt"?'],
    ['class add dev eth0 parent 1: classid 1:1 htb ceil 10mbit', 1, '"rate" is required.'],
    ['class add dev eth0 parent 1: classid 1:1 htb rate fast', 1, 'Illegal "rate"'],
    ['class add dev eth0 parent 1: classid 1:1 htb rate 1mbit prio 8', 1, 'Illegal "prio"'],
    ['qdisc add dev eth0 root tbf rate 1mbit burst 10k', 1, 'Either "limit" or "latency" are required.'],
    ['qdisc add dev eth0 root tbf rate 1mbit latency 10ms', 1, '"rate" and "burst" are required.'],
    ['qdisc add dev eth0 root foo bar', 1, 'Unknown qdisc "foo", hence option "bar" is unparsable'],
    ['qdisc add dev eth0 root foo', 2, 'Error: Specified qdisc kind is unknown.'],
    ['qdisc frobnicate dev eth0', 1, 'Command "frobnicate" is unknown, try "tc qdisc help".'],
    ['class add dev eth0 parent 1: handle 1:1 htb rate 1mbit', 1, 'Error: try "classid" instead of "handle"'],
    ['class add dev eth0 parent 1: classid 1:1 sfq', 2, 'Error: Qdisc "sfq" is classless.'],
    ['filter add dev eth0 parent 1: u32 match ip src 10.0.0.300 flowid 1:1', 1, 'Illegal "match"'],
    ['filter add dev eth0 parent 1: u32 match ip sport 70000 0xffff flowid 1:1', 1, 'Illegal "match"'],
    ['filter add dev eth0 parent 1: u32 match ip sport 80 0xffff match ip sport 81 0xffff flowid 1:1', 1, 'Illegal "match"'],
    ['filter add dev eth0 parent 1: handle 800::1000 u32 flowid 1:1', 1, 'Illegal "handle"'],
    ['filter add dev eth0 parent 1: u32 divisor 100', 1, 'Illegal "divisor"'],
    ['filter add dev eth0 parent 1: u32 match ip src 1.2.3.4 police rate 1mbit drop flowid 1:1', 1, '"rate" and "burst" are required for police.'],
    ['filter add dev eth0 parent 1: u32 offset at 0 mask 0x0f00 shift 6', 1, 'pspat: "offset" is not supported in this filter'],
    ['filter add dev eth0 parent 1: fw classid 1:1', 1, 'pspat: fw needs "handle MARK[/MASK]"'],
    ['filter add dev eth0 parent 1: flower dst_ip 1.2.3.4 classid 1:1', 1, 'Unknown filter "flower", hence option "dst_ip" is unparsable'],
    ['qdisc add dev eth0 root prio bands 2', 1, '"priomap" element is out of bands'],
    ['qdisc add root htb', 1, 'Error: "dev" is required.'],
    ['qdisc add dev eth0 htb', 1, 'Error: either "root" or "parent" is required.'],
    ['frobnicate', 1, 'Object "frobnicate" is unknown, try "tc help".'],
    ['-x qdisc show', 1, 'Option "-x" is unknown, try "tc -help".'],
    ['qdisc add dev eth0 root', 1, 'Error: the qdisc kind is required'],
    ['class add dev eth0 parent 1: classid', 1, 'Command line is not complete.'],
  ])('%s → exit %d', (line, code, message) => {
    let err: unknown;
    try {
      parseTc(argv(line));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TcError);
    expect((err as TcError).exitCode).toBe(code);
    expect((err as TcError).message).toContain(message);
  });
});
