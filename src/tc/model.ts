/**
 * What a tc command line means, as data: the parser (grammar.ts) produces these, the
 * daemon applies them, the config file stores them. Rates are bit/s, sizes bytes, times
 * µs, handles 32-bit (handles.ts) — the units the kernel's netlink messages carry, so a
 * command's model does not depend on how it was spelled.
 */

import type { SizeSpec } from './stab.js';
import type { Linklayer } from './linklayer.js';
export type TcObject = 'qdisc' | 'class' | 'filter';
export type TcVerb = 'add' | 'change' | 'replace' | 'delete' | 'show';

/** tc's global options that change output: -s, -d, -p, -j. */
export interface TcFlags {
  stats: boolean;
  details: boolean;
  pretty: boolean;
  json: boolean;
}

export type QdiscSpec =
  | { kind: 'htb'; defaultClass: number; r2q: number; directQlen?: number }
  | { kind: 'drr' }
  | { kind: 'qfq' }
  | { kind: 'prio'; bands: number; priomap: number[] }
  /** limit: bytes queued at most (given, or from latency: rate·latency + burst, as tc computes it). */
  | { kind: 'tbf'; rate: number; burst: number; limit: number; peakrate?: number; mtu?: number; mpu?: number; overhead?: number; linklayer?: Linklayer }
  | { kind: 'pfifo'; limit?: number }
  | { kind: 'bfifo'; limit?: number }
  | { kind: 'sfq'; perturbS: number; quantum?: number; limit: number; divisor: number; flows: number; depth: number; headdrop: boolean }
  | {
      kind: 'fq_codel';
      limit: number;
      flows: number;
      targetUs: number;
      intervalUs: number;
      quantum: number;
      ecn: boolean;
      ceThresholdUs?: number;
      memoryLimit: number;
      dropBatch: number;
    };

export type QdiscKind = QdiscSpec['kind'];

export type ClassSpec =
  | {
      kind: 'htb';
      rate: number;
      ceil: number;
      burst?: number;
      cburst?: number;
      prio: number;
      quantum?: number;
      mtu: number;
      mpu: number;
      overhead: number;
      /** tc's `linklayer`: ATM counts whole cells; absent, Ethernet. */
      linklayer?: Linklayer;
    }
  | { kind: 'drr'; quantum?: number }
  | { kind: 'qfq'; weight?: number; maxpkt?: number }
  /** prio's bands, and tbf's one class (1 under its handle): classes the qdisc creates itself, with no parameters. */
  | { kind: 'prio' }
  | { kind: 'tbf' };

/** tc-police(8): a token bucket in front of the class; over the rate, `exceed` happens. */
export interface PoliceSpec {
  rate: number;
  burst: number;
  mtu?: number;
  peakrate?: number;
  exceed: 'drop' | 'pass' | 'reclassify' | 'continue';
}

/**
 * One u32 key (tc-u32(8), "SELECTOR"): (packet word at `off` & mask) == value, the word
 * read big-endian from the network header (negative offsets reach into the link header),
 * plus `nexthdr` for offsets relative to the transport header.
 */
export interface U32Key {
  value: number;
  mask: number;
  off: number;
  nexthdr: boolean;
}

export type FilterSpec =
  | {
      kind: 'u32';
      keys: U32Key[];
      /** The node's (or, with `divisor`, the new table's) handle from `handle 800::803`. */
      handle?: number;
      /** `divisor N`: this command creates hash table `handle` with N buckets, matches nothing. */
      divisor?: number;
      /** `ht X:` — the table the node goes in (default 800:, the root table). */
      ht?: number;
      /** `link X:` — on a match, continue in table X instead of classifying. */
      link?: number;
      /** `hashkey mask M at OFF` — the bucket of `link`'s table, from the packet word at OFF. */
      hashkey?: { mask: number; off: number };
      /** `match mark VAL MASK`: the packet's firewall mark. */
      mark?: { value: number; mask: number };
      classid?: number;
      police?: PoliceSpec;
    }
  /** Matches when (mark & mask) == mark, mark/mask from the filter's `handle MARK[/MASK]`. */
  | { kind: 'fw'; mark: number; mask: number; classid?: number; police?: PoliceSpec }
  | { kind: 'basic'; classid?: number; police?: PoliceSpec }
  | { kind: 'matchall'; classid?: number; police?: PoliceSpec };

export type FilterKind = FilterSpec['kind'];

export interface QdiscCommand {
  object: 'qdisc';
  verb: Exclude<TcVerb, 'show'>;
  dev: string;
  parent: number;
  handle?: number;
  /** Absent for `del` given without a kind (tc allows it). */
  qdisc?: QdiscSpec;
  /** `estimator INTERVAL TIME_CONSTANT` as written: `-s` then shows a rate line. */
  estimator?: [string, string];
  /** `stab …`: a size table (stab.ts), as tc completes it; the kernel takes one on the root qdisc only. */
  stab?: SizeSpec;
  /** change and replace of a kind with a change rule (fq_codel, sfq): the words after the kind, as written — only what they name changes. */
  options?: string[];
}

export interface ClassCommand {
  object: 'class';
  verb: Exclude<TcVerb, 'show'>;
  dev: string;
  parent?: number;
  classid: number;
  cls?: ClassSpec;
  /** `estimator INTERVAL TIME_CONSTANT` as written: `-s` then shows a rate line. */
  estimator?: [string, string];
}

export interface FilterCommand {
  object: 'filter';
  verb: Exclude<TcVerb, 'show'>;
  dev: string;
  parent?: number;
  /** The word after `handle`, kept as written: fw reads mark/mask from it, u32 a node handle. */
  handle?: string;
  /** Ethertype the filter applies to; ETH_P_ALL (3) for `all`. */
  protocol: number;
  prio?: number;
  filter?: FilterSpec;
  /** The words from the filter kind on, as written (a config dump writes them back). */
  args?: string[];
}

export interface ShowCommand {
  object: TcObject;
  verb: 'show';
  dev?: string;
  parent?: number;
  classid?: number;
  /** filter show: only this priority or protocol — and tc then leaves it off each line. */
  prio?: number;
  protocol?: number;
}

/**
 * What `pspat tc` prints and exits with; or "run the system's tc". A `qdisc show` of every
 * device also names the devices pspat manages (`managed`): the CLI shows the system's tc
 * for the others.
 */
export type TcReply = { exitCode: number; stdout: string; stderr: string; managed?: string[] } | { passthrough: true; reason: string };

/** A command pspat leaves to the system's tc (ingress, clsact, actions, …), with why. */
export interface PassThrough {
  passthrough: true;
  reason: string;
  /**
   * The device of a command under `parent ffff:`, read as the ingress qdisc: if pspat
   * manages that device with an egress root of handle ffff:, the command is pspat's after
   * all (grammar.ts parseTc's `egressFfff`).
   */
  ffffOf?: string;
}

export type TcCommand = QdiscCommand | ClassCommand | FilterCommand | ShowCommand;

export interface ParsedTc {
  flags: TcFlags;
  command: TcCommand | PassThrough;
}

/** Ethertypes tc knows by name (ll_proto_a2n's common ones). */
export const ETH_P = { all: 0x0003, ip: 0x0800, arp: 0x0806, '802.1q': 0x8100, ipv6: 0x86dd, '802.1ad': 0x88a8 } as const;

/** An ethertype as tc prints it: its name, or 0x-hex. */
export function protocolName(p: number): string {
  const named = Object.entries(ETH_P).find(([, v]) => v === p);
  return named ? named[0] : `0x${p.toString(16).padStart(4, '0')}`;
}
