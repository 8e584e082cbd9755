/** qfq (tc-qfq(8), q_qfq.c): no qdisc options; classes with a weight and a maximum packet size. */
import { whatIs } from '../errors.js';
import { ETH_HEADER, type DeviceFacts } from '../../net/device.js';
import { u32 } from '../netlink-attrs.js';
import { optionless, userClasses, type ClassOf, type Kind } from './kind.js';

/** A class's maxpkt: as given, else the device's MTU plus its header (psched_mtu). */
function qfqMaxpkt(c: ClassOf<'qfq'>, device: DeviceFacts): number {
  return c.maxpkt ?? device.mtu + ETH_HEADER;
}

export const qfq: Kind<'qfq'> = {
  ...optionless('qfq'),
  scheduler: (_q, tree, handle) => userClasses('qfq', tree.classesOf(handle)),
  onClass: 'inner',
  noChange: true,
  classes: {
    parse(a) {
      const c: ClassOf<'qfq'> = { kind: 'qfq' };
      while (!a.done) {
        const w = a.next();
        if (w === 'weight') c.weight = a.uint('weight', 1);
        else if (w === 'maxpkt') c.maxpkt = a.size('maxpkt');
        else throw whatIs(w);
      }
      return c;
    },
    params: (s, place) => ({ ...(s.weight !== undefined ? { weight: s.weight } : {}), maxpkt: qfqMaxpkt(s, place.device) }),
    show: (spec, place) => `weight ${spec.weight ?? 1} maxpkt ${qfqMaxpkt(spec, place.device)}`,
    json: (spec, place) => ({ weight: spec.weight ?? 1, maxpkt: qfqMaxpkt(spec, place.device) }),
    dump: (c) => `qfq${c.weight !== undefined ? ` weight ${c.weight}` : ''}${c.maxpkt !== undefined ? ` maxpkt ${c.maxpkt}` : ''}`,
    decode: (o) => ({ kind: 'qfq', weight: u32(o.get(1)), maxpkt: u32(o.get(2)) }), // TCA_QFQ_WEIGHT, TCA_QFQ_LMAX
  },
};
