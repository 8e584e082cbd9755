/** pfifo and bfifo (tc-pfifo(8), q_fifo.c): a limit in packets or bytes, by default from the device. */
import { whatIs } from '../errors.js';
import { formatSize } from '../format.js';
import { ETH_HEADER, type DeviceFacts } from '../../net/device.js';
import { unsupported } from '../netlink-attrs.js';
import { MAX_LIMIT } from '../../../schedulers/class-queues.js';
import type { ClassParams } from '../../../schedulers/types.js';
import { oneClass, type Kind, type QdiscOf } from './kind.js';

/** pfifo's limit: as given, else the device's txqueuelen (as the kernel's fifo_init takes it). */
export function pfifoLimit(q: QdiscOf<'pfifo'>, device: DeviceFacts): number {
  return q.limit ?? (device.txQueueLen || 1);
}

/** bfifo's limit: as given, else txqueuelen full frames of the device's MTU plus its header. */
export function bfifoLimit(q: QdiscOf<'bfifo'>, device: DeviceFacts): number {
  return q.limit ?? (device.txQueueLen || 1) * (device.mtu + ETH_HEADER);
}

/**
 * A fifo kind: `limitOf` its limit, `show` how tc prints it, `limits` what the limit is
 * to pspat's fifo as a root and as a class's queue.
 */
function fifo<K extends 'pfifo' | 'bfifo'>(
  kind: K,
  limitOf: (q: QdiscOf<K>, device: DeviceFacts) => number,
  show: (limit: number) => string,
  limits: { root: (limit: number) => ClassParams; queue: (limit: number) => ClassParams },
): Kind<K> {
  return {
    parse(a) {
      let limit: number | undefined;
      while (!a.done) {
        const w = a.next();
        if (w === 'limit') limit = kind === 'pfifo' ? a.uint('limit') : a.size('limit');
        else throw whatIs(w);
      }
      return (limit === undefined ? { kind } : { kind, limit }) as QdiscOf<K>;
    },
    show: (q, device) => `limit ${show(limitOf(q, device))}`,
    json: (q, device) => ({ limit: limitOf(q, device) }),
    dump(q) {
      const { limit } = q as QdiscOf<'pfifo' | 'bfifo'>;
      return limit === undefined ? kind : `${kind} limit ${limit}`;
    },
    bareEnd: true,
    decode(raw) {
      if (raw === undefined) return unsupported(`${kind} without its limit`);
      return { kind, limit: raw.getUint32(0, true) } as QdiscOf<K>; // tc_fifo_qopt
    },
    scheduler: (q, tree) => oneClass('fifo', limits.root(limitOf(q, tree.device))),
    onClass: 'queue',
    queue: (q, device) => limits.queue(limitOf(q, device)),
  };
}

export const pfifo = fifo('pfifo', pfifoLimit, (n) => `${n}p`, {
  root: (n) => ({ limitPackets: n }),
  queue: (n) => ({ limitPackets: n }),
});
// As a class's queue a byte limit alone (the class's packet limit lifted).
export const bfifo = fifo('bfifo', bfifoLimit, formatSize, {
  root: (n) => ({ limitBytes: n }),
  queue: (n) => ({ limitPackets: MAX_LIMIT, limitBytes: n }),
});
