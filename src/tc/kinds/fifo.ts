/** pfifo and bfifo (tc-pfifo(8), q_fifo.c): a limit in packets or bytes, by default from the device. */
import { whatIs } from '../errors.js';
import { formatSize } from '../format.js';
import { ETH_HEADER, type DeviceFacts } from '../../net/device.js';
import type { Kind, QdiscOf } from './kind.js';

/** pfifo's limit: as given, else the device's txqueuelen (as the kernel's fifo_init takes it). */
export function pfifoLimit(q: QdiscOf<'pfifo'>, device: DeviceFacts): number {
  return q.limit ?? (device.txQueueLen || 1);
}

/** bfifo's limit: as given, else txqueuelen full frames of the device's MTU plus its header. */
export function bfifoLimit(q: QdiscOf<'bfifo'>, device: DeviceFacts): number {
  return q.limit ?? (device.txQueueLen || 1) * (device.mtu + ETH_HEADER);
}

function fifo<K extends 'pfifo' | 'bfifo'>(kind: K, limitOf: (q: QdiscOf<K>, device: DeviceFacts) => number, show: (limit: number) => string): Kind<K> {
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
  };
}

export const pfifo = fifo('pfifo', pfifoLimit, (n) => `${n}p`);
export const bfifo = fifo('bfifo', bfifoLimit, formatSize);
