/**
 * `pspat tc` command lines → the model (model.ts), with tc's grammar: global options,
 * then `qdisc|class|filter`, a verb, and words in any order tc accepts (`dev`, `parent`,
 * `root`, `handle`, `classid`, `protocol`, `prio`) up to the kind, whose options follow
 * (kinds/: one module per qdisc kind; filter-grammar.ts). Words abbreviate as in tc (`tc qd del`).
 *
 * What pspat leaves to the system's tc comes back as a PassThrough with the reason:
 * ingress and clsact qdiscs and filters on them, actions, monitor, batch files, other
 * network namespaces, help. (Devices pspat does not manage are the daemon's to judge.)
 */
import { parseStab, type SizeSpec } from './stab.js';
import { TcArgs, matches, parseUint } from './args.js';
import { badArg, duplicateArg, invalidArg, TcError, TC_EXIT_REJECTED } from './errors.js';
import { parseClassId, parseQdiscHandle, TC_H_ROOT } from './handles.js';
import {
  ETH_P,
  type ClassCommand,
  type FilterCommand,
  type ParsedTc,
  type PassThrough,
  type QdiscCommand,
  type ShowCommand,
  type TcFlags,
  type TcVerb,
} from './model.js';
import { parseFilterSpec } from './filter-grammar.js';
import { parseTimeUs } from '../units.js';
import { isQdiscKind, kindOf, parseClassSpec, parseQdiscSpec } from './kinds/index.js';

/** tc's clsact/ingress hooks: ffff:fff1 (ingress), ffff:fff2 (ingress hook), ffff:fff3 (egress hook). */
const INGRESS_HOOKS = new Set([0xfffffff1, 0xfffffff2, 0xfffffff3]);
/** ffff:, the ingress qdisc's handle — and a legal handle for an egress root, which only the daemon knows a device has. */
export const FFFF = 0xffff0000;

/**
 * Whether `parent` is on the ingress or clsact hooks, which the system's tc handles:
 * ffff: is, unless the caller knows the device's egress root has that handle (`egressFfff`).
 */
function underIngress(parent: number | undefined, egressFfff: boolean): boolean {
  return parent !== undefined && (INGRESS_HOOKS.has(parent) || (parent === FFFF && !egressFfff));
}

/** The system's tc's, for a command on ingress; naming the device when it said `parent ffff:`, which the daemon may know is its egress root. */
function ingressPassThrough(reason: string, parent: number | undefined, dev: string | undefined): PassThrough {
  return parent === FFFF && dev !== undefined ? { passthrough: true, reason, ffffOf: dev } : passThrough(reason);
}

/** `root` as the parent; a second parent is tc's error. */
function rootArg(parent: number | undefined): number {
  if (parent !== undefined) throw badArg('Error: "root" is duplicate parent ID');
  return TC_H_ROOT;
}

function passThrough(reason: string): PassThrough {
  return { passthrough: true, reason };
}

/** tc's global options, in the order tc tests them (so `-n` is -netns, `-s` is -stats). */
const GLOBAL_OPTIONS: [name: string, effect: keyof TcFlags | 'ignore' | 'pass'][] = [
  ['-stats', 'stats'],
  ['-statistics', 'stats'],
  ['-details', 'details'],
  ['-raw', 'ignore'],
  ['-pretty', 'pretty'],
  ['-graph', 'ignore'],
  ['-Version', 'pass'],
  ['-iec', 'ignore'],
  ['-help', 'pass'],
  ['-force', 'ignore'],
  ['-batch', 'pass'],
  ['-netns', 'pass'],
  ['-names', 'ignore'],
  ['-cf', 'pass'],
  ['-timestamp', 'ignore'],
  ['-tshort', 'ignore'],
  ['-color', 'ignore'],
  ['-json', 'json'],
];

/** The global option a word names (`-n` is -netns, `-s` -stats), in tc's order of testing prefixes; undefined for none. */
export function globalOption(word: string): string | undefined {
  const opt = word.startsWith('--') ? word.slice(1) : word;
  return GLOBAL_OPTIONS.find(([name]) => matches(opt, name))?.[0];
}

/** `egressFfff`: the device the command names has an egress root with handle ffff: (the daemon parses again so when a PassThrough says `ffffOf`). */
export function parseTc(argv: readonly string[], egressFfff = false): ParsedTc {
  const flags: TcFlags = { stats: false, details: false, pretty: false, json: false };
  let i = 0;
  for (; i < argv.length && argv[i].startsWith('-') && argv[i] !== '-'; i++) {
    const name = globalOption(argv[i]);
    const found = GLOBAL_OPTIONS.find(([n]) => n === name);
    if (!found) throw badArg(`Option "${argv[i]}" is unknown, try "tc -help".`);
    if (found[1] === 'pass') return { flags, command: passThrough(`tc ${found[0]}`) };
    if (found[1] !== 'ignore') flags[found[1]] = true;
  }
  const a = new TcArgs(argv.slice(i));
  const object = a.done ? 'help' : a.next();
  if (matches(object, 'qdisc')) return { flags, command: qdisc(a, egressFfff) };
  if (matches(object, 'class')) return { flags, command: klass(a) };
  if (matches(object, 'filter')) return { flags, command: filter(a, egressFfff) };
  if (matches(object, 'chain') || matches(object, 'actions') || matches(object, 'monitor') || matches(object, 'exec') || matches(object, 'help')) {
    return { flags, command: passThrough(`tc ${object}`) };
  }
  throw badArg(`Object "${object}" is unknown, try "tc help".`);
}

/** The verb, with tc's abbreviations and its own error for an unknown one. */
function verb(a: TcArgs, object: string, extra: string[] = []): TcVerb | string {
  const w = a.done ? 'show' : a.next(); // `tc qdisc` alone lists, as tc does
  for (const v of ['add', 'change', 'replace', ...extra, 'delete'] as const) if (matches(w, v)) return v;
  if (matches(w, 'show') || matches(w, 'list') || matches(w, 'lst')) return 'show';
  if (matches(w, 'help')) return 'help';
  throw badArg(`Command "${w}" is unknown, try "tc ${object} help".`);
}

function handleArg(a: TcArgs, key: string, parse: (text: string, what: string) => number, what: string): number {
  const text = a.next();
  a.once(key, text);
  return parse(text, what);
}

/** The verb, or what a show/help/get becomes. */
function dispatch(a: TcArgs, object: ShowCommand['object'], extra: string[]): TcVerb | string | ShowCommand | PassThrough {
  const v = verb(a, object, extra);
  if (v === 'help' || v === 'get') return passThrough(`tc ${object} ${v}`);
  if (v === 'show') return show(a, object);
  return v;
}

function devArg(a: TcArgs): string {
  const dev = a.next();
  a.once('dev', dev);
  return dev;
}

function requireDev(dev: string | undefined): string {
  if (dev === undefined) throw badArg('Error: "dev" is required.');
  return dev;
}

function qdisc(a: TcArgs, egressFfff: boolean): QdiscCommand | ShowCommand | PassThrough {
  const v = dispatch(a, 'qdisc', ['link']);
  if (typeof v !== 'string') return v;
  if (v === 'link') throw badArg('pspat: "tc qdisc link" is not supported.');
  let dev: string | undefined;
  let parent: number | undefined;
  let handle: number | undefined;
  let estimator: [string, string] | undefined;
  let stab: SizeSpec | undefined;
  while (!a.done) {
    const w = a.next();
    if (w === 'dev') dev = devArg(a);
    else if (w === 'root') parent = rootArg(parent);
    else if (w === 'parent') {
      if (parent !== undefined) throw duplicateArg('parent', a.peek() ?? '');
      parent = handleArg(a, 'parent', parseClassId, 'invalid parent ID');
    } else if (w === 'handle') handle = handleArg(a, 'handle', parseQdiscHandle, 'invalid qdisc ID');
    else if (w === 'ingress' || w === 'clsact') {
      // Both take handle ffff:, which an egress root holding it keeps them from (the kernel's words).
      if (egressFfff)
        throw new TcError(TC_EXIT_REJECTED, v === 'delete' ? 'Error: Invalid handle.' : 'Error: Cannot move an existing qdisc to a different parent.');
      return ingressPassThrough(`${w} qdisc`, FFFF, dev);
    } else if (w === 'estimator') estimator = estimatorArg(a);
    else if (w === 'stab')
      stab = parseStab(a); // a second one replaces the first, as in tc
    else if (w === 'ingress_block' || w === 'egress_block') {
      throw badArg(`pspat: "${w}" is not supported.`);
    } else {
      if (underIngress(parent, egressFfff)) return ingressPassThrough('a qdisc under ingress/clsact', parent, dev);
      if (a.ahead('help')) return passThrough(`tc's usage of ${w}`);
      // No qdisc at all (libvirt's taps): nothing for pspat to schedule.
      if (w === 'noqueue') return passThrough('noqueue');
      const options = a.rest();
      return {
        object: 'qdisc',
        verb: v as QdiscCommand['verb'],
        dev: requireDev(dev),
        parent: requireParent(parent),
        ...(handle ? { handle } : {}),
        qdisc: parseQdiscSpec(w, new TcArgs(options)),
        ...(estimator ? { estimator } : {}),
        ...(stab ? { stab } : {}),
        // A kind with a change rule (fq_codel, sfq) needs to know what the command named.
        ...((v === 'change' || v === 'replace') && isQdiscKind(w) && kindOf(w).change ? { options } : {}),
      };
    }
  }
  if (underIngress(parent, egressFfff)) return ingressPassThrough('ingress qdisc', parent, dev);
  if (v !== 'delete') throw badArg('Error: the qdisc kind is required (htb, drr, qfq, prio, tbf, pfifo, bfifo, sfq, fq_codel).');
  return { object: 'qdisc', verb: 'delete', dev: requireDev(dev), parent: requireParent(parent), ...(handle ? { handle } : {}) };
}

/**
 * `estimator INTERVAL TIME_CONSTANT`: tc rounds the interval up to a power of two from
 * 250 ms to 8 s and needs a time constant of at least two intervals (tc_setup_estimator).
 * pspat's daemon estimates every class's rate anyway (1 s samples, a 4 s time constant);
 * asking for an estimator makes `-s` show it, as the kernel shows its own.
 */
function estimatorArg(a: TcArgs): [string, string] {
  const interval = a.next();
  const constant = a.next();
  let i = NaN;
  let c = NaN;
  try {
    i = parseTimeUs(interval);
    c = parseTimeUs(constant);
  } catch {
    // tc's wording below.
  }
  if (!(i > 0 && i <= 8e6 && c >= 2 * i)) throw badArg('Error: estimator parameters are out of range.');
  return [interval, constant];
}

function requireParent(parent: number | undefined): number {
  if (parent === undefined) throw badArg('Error: either "root" or "parent" is required.');
  return parent;
}

function klass(a: TcArgs): ClassCommand | ShowCommand | PassThrough {
  const v = dispatch(a, 'class', []);
  if (typeof v !== 'string') return v;
  let dev: string | undefined;
  let parent: number | undefined;
  let classid: number | undefined;
  let estimator: [string, string] | undefined;
  while (!a.done) {
    const w = a.next();
    if (w === 'dev') dev = devArg(a);
    else if (w === 'classid') classid = handleArg(a, 'classid', parseClassId, 'invalid class ID');
    else if (w === 'handle') throw badArg('Error: try "classid" instead of "handle"');
    else if (w === 'root') parent = rootArg(parent);
    else if (w === 'parent') parent = handleArg(a, 'parent', parseClassId, 'invalid parent ID');
    else if (w === 'estimator') estimator = estimatorArg(a);
    else {
      if (a.ahead('help')) return passThrough(`tc's usage of ${w}`);
      if (classid === undefined) throw badArg('Error: "classid" is required.');
      return {
        object: 'class',
        verb: v as ClassCommand['verb'],
        dev: requireDev(dev),
        ...(parent !== undefined ? { parent } : {}),
        classid,
        cls: parseClassSpec(w, a),
        ...(estimator ? { estimator } : {}),
      };
    }
  }
  if (v !== 'delete') throw badArg('Error: the class kind is required (htb, drr, qfq).');
  if (classid === undefined) throw badArg('Error: "classid" is required.');
  return { object: 'class', verb: 'delete', dev: requireDev(dev), ...(parent !== undefined ? { parent } : {}), classid };
}

/** A filter priority (`prio`/`pref`): 0..65535. */
function priorityArg(text: string): number {
  const n = parseUint(text);
  if (n === undefined || n > 0xffff) throw invalidArg(text, 'invalid priority value');
  return n;
}

function protocolArg(text: string): number {
  if (Object.hasOwn(ETH_P, text)) return ETH_P[text as keyof typeof ETH_P];
  const n = parseUint(text);
  if (n === undefined || n > 0xffff) throw invalidArg(text, 'invalid protocol');
  return n;
}

function filter(a: TcArgs, egressFfff: boolean): FilterCommand | ShowCommand | PassThrough {
  const v = dispatch(a, 'filter', ['get']);
  if (typeof v !== 'string') return v;
  let dev: string | undefined;
  let parent: number | undefined;
  let handle: string | undefined;
  let protocol: number = ETH_P.all;
  let prio: number | undefined;
  while (!a.done) {
    const w = a.next();
    if (w === 'dev') dev = devArg(a);
    else if (w === 'root') parent = TC_H_ROOT;
    else if (w === 'ingress' || w === 'egress' || w === 'block' || w === 'chain') return passThrough(`a filter on ${w}`);
    else if (w === 'parent') parent = handleArg(a, 'parent', parseClassId, 'Invalid parent ID');
    else if (w === 'handle') {
      handle = a.next();
      a.once('handle', handle);
    } else if (w === 'estimator') throw badArg('pspat: "estimator" is not supported.');
    else if (matches(w, 'priority') || matches(w, 'preference')) {
      const text = a.next();
      a.once('priority', text);
      prio = priorityArg(text);
    } else if (matches(w, 'protocol')) {
      const text = a.next();
      a.once('protocol', text);
      protocol = protocolArg(text);
    } else {
      if (underIngress(parent, egressFfff)) return ingressPassThrough('a filter on ingress/clsact', parent, dev);
      if (a.ahead('help')) return passThrough(`tc's usage of ${w}`);
      const args = [w, ...a.rest()];
      const spec = parseFilterSpec(w, new TcArgs(args.slice(1)), handle);
      return {
        object: 'filter',
        verb: v as FilterCommand['verb'],
        dev: requireDev(dev),
        ...(parent !== undefined ? { parent } : {}),
        ...(handle !== undefined ? { handle } : {}),
        protocol,
        ...(prio !== undefined ? { prio } : {}),
        filter: spec,
        args,
      };
    }
  }
  if (underIngress(parent, egressFfff)) return ingressPassThrough('a filter on ingress/clsact', parent, dev);
  if (v !== 'delete') throw badArg('Error: the filter kind is required (u32, fw, basic, matchall).');
  return {
    object: 'filter',
    verb: 'delete',
    dev: requireDev(dev),
    ...(parent !== undefined ? { parent } : {}),
    ...(handle !== undefined ? { handle } : {}),
    protocol,
    ...(prio !== undefined ? { prio } : {}),
  };
}

function show(a: TcArgs, object: ShowCommand['object']): ShowCommand | PassThrough {
  const cmd: ShowCommand = { object, verb: 'show' };
  while (!a.done) {
    const w = a.next();
    if (w === 'dev') cmd.dev = a.next();
    else if (w === 'parent') cmd.parent = parseClassId(a.next(), 'invalid parent ID');
    else if (w === 'root') cmd.parent = TC_H_ROOT;
    else if (w === 'classid' && object === 'class') cmd.classid = parseClassId(a.next(), 'invalid class ID');
    else if (object === 'filter' && (matches(w, 'priority') || matches(w, 'preference'))) cmd.prio = priorityArg(a.next());
    else if (object === 'filter' && matches(w, 'protocol')) cmd.protocol = protocolArg(a.next());
    // Taken as tc takes it; the kernel's dump lists the whole priority whatever the handle.
    else if (object === 'filter' && w === 'handle') a.next();
    else if (w === 'ingress' || w === 'clsact' || w === 'egress' || w === 'invisible') return passThrough(`show ${w}`);
    else throw badArg(`What is "${w}"? Try "tc ${object} help"`);
  }
  if (object !== 'qdisc' && cmd.dev === undefined) throw badArg('Error: "dev" is required.');
  return cmd;
}
