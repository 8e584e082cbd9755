/**
 * Every qdisc kind pspat tc takes, by its kind word (kind.ts says what a kind module
 * holds), and the parsers of the options after a kind word, as tc's q_*.c parse them:
 * keywords in any order, tc's defaults filled in, tc's messages for what it refuses.
 * Limits the kernel enforces (a weight too large, a parent that does not exist) are the
 * daemon's to check: a parser refusal exits 1, a kernel refusal 2.
 */
import type { TcArgs } from '../args.js';
import { badArg, TcError, TC_EXIT_REJECTED } from '../errors.js';
import type { ClassSpec, QdiscKind, QdiscSpec } from '../model.js';
import { drr } from './drr.js';
import { bfifo, pfifo } from './fifo.js';
import { fqCodel } from './fq-codel.js';
import { htb } from './htb.js';
import type { ClassKind, Kind } from './kind.js';
import { prio } from './prio.js';
import { qfq } from './qfq.js';
import { sfq } from './sfq.js';
import { tbf } from './tbf.js';

const KINDS: { [K in QdiscKind]: Kind<K> } = { htb, drr, qfq, prio, tbf, pfifo, bfifo, sfq, fq_codel: fqCodel };

export function isQdiscKind(word: string): word is QdiscKind {
  return Object.hasOwn(KINDS, word);
}

/** The module of `kind`, taking any spec of it (the specs' kinds correlate with the modules'). */
export function kindOf(kind: QdiscKind): Kind<QdiscKind> {
  return KINDS[kind] as unknown as Kind<QdiscKind>;
}

/** The class side of a class's kind; undefined for the classes a qdisc makes itself (prio's bands, tbf's class), whose kinds have none. */
export function classKindOf(spec: ClassSpec): ClassKind<QdiscKind> | undefined {
  return kindOf(spec.kind).classes;
}

/** What a `change` (or `replace` by the same kind) of `old` to `next` leaves: the kind's rule, else `next` whole. */
export function changedQdisc(old: QdiscSpec, next: QdiscSpec, words: readonly string[]): QdiscSpec {
  if (old.kind !== next.kind) return next;
  return kindOf(old.kind).change?.(old, next, words) ?? next;
}

/** The options after a qdisc's kind word. */
export function parseQdiscSpec(kind: string, a: TcArgs): QdiscSpec {
  if (!isQdiscKind(kind)) {
    if (!a.done) throw badArg(`Unknown qdisc "${kind}", hence option "${a.peek()}" is unparsable`);
    throw new TcError(TC_EXIT_REJECTED, 'Error: Specified qdisc kind is unknown.');
  }
  return kindOf(kind).parse(a);
}

/** The options after a class's kind word (the kind of the qdisc it belongs to). */
export function parseClassSpec(kind: string, a: TcArgs): ClassSpec {
  if (!isQdiscKind(kind)) throw badArg(`Unknown qdisc "${kind}", hence option "${a.peek() ?? ''}" is unparsable`);
  const classes = kindOf(kind).classes;
  if (!classes) throw new TcError(TC_EXIT_REJECTED, `Error: Qdisc "${kind}" is classless.`);
  return classes.parse(a);
}
