/**
 * The table of scheduler kinds, looked up by name (as tc looks up a qdisc's ops).
 */
import { InvalidOptionError } from '../src/errors.js';
import { drr } from './drr.js';
import { fifo } from './fifo.js';
import { fqCodel } from './fq-codel.js';
import { htb } from './htb.js';
import { registerLeafKinds } from './leaf-queues.js';
import { prio } from './prio.js';
import { qfq } from './qfq.js';
import { sfq } from './sfq.js';
import { wf2q } from './wf2q.js';
import type { SchedulerKind } from './types.js';

const KINDS: readonly SchedulerKind[] = [fifo, drr, qfq, wf2q, prio, htb, sfq, fqCodel];

export function schedulerKinds(): readonly SchedulerKind[] {
  return KINDS;
}

/** Inner qdiscs of a class are created by kind name, through this registry. */
registerLeafKinds((kind) => findScheduler(kind));

export function findScheduler(kind: string): SchedulerKind {
  const found = KINDS.find((k) => k.kind === kind);
  if (!found) {
    throw new InvalidOptionError('scheduler', `unknown scheduler '${kind}' (known: ${KINDS.map((k) => k.kind).join(', ')})`);
  }
  return found;
}
