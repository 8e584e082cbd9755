/**
 * Network-namespace topologies for I/O tests and benchmarks: a veth pair whose near end
 * stays in this namespace (pspat transmits on it, and nothing else does: no IPv6) and
 * whose far end lives in a fresh sink namespace with the test packets' destination MAC and
 * IP. `destroy` removes everything (deleting the namespace deletes the pair); callers run
 * it in a finally / afterAll.
 */
import { execFileSync } from 'node:child_process';
import { turnOffIpv6 } from '../net/device.js';

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

export interface SinkTopology {
  ns: string;
  /** The far end, inside `ns`. */
  peer: string;
  /** The near end: pspat transmits here. */
  dev: string;
  destroy(): void;
}

/**
 * @param queues TX/RX queues on each end (AF_XDP binds one transmit worker per queue).
 * @param withAddress Give the far end 10.77.0.2/24 so its stack accepts the test UDP
 * packets (functional tests); without it the far end counts and drops them cheaply
 * (benchmarks measure the sender, not the receiver's UDP stack).
 */
export function createSinkTopology(tag: string, withAddress = true, queues = 1): SinkTopology {
  const id = `${tag}${process.pid % 100000}`;
  const ns = `pspat-${id}`;
  const dev = `ps${id}`.slice(0, 15);
  const peer = `pk${id}`.slice(0, 15);
  const destroy = () => {
    try {
      ip('netns', 'del', ns);
    } catch {
      /* already gone */
    }
    try {
      ip('link', 'del', dev);
    } catch {
      /* went with the namespace */
    }
  };
  destroy();
  try {
    ip('netns', 'add', ns);
    const q = ['numtxqueues', String(queues), 'numrxqueues', String(queues)];
    ip('link', 'add', dev, ...q, 'type', 'veth', 'peer', 'name', peer, ...q, 'netns', ns);
    turnOffIpv6(dev); // the sink's counters count only what pspat sent
    ip('link', 'set', dev, 'up');
    ip('-n', ns, 'link', 'set', peer, 'address', '02:00:00:00:00:02', 'up');
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    if (withAddress) ip('-n', ns, 'addr', 'add', '10.77.0.2/24', 'dev', peer);
  } catch (e) {
    destroy();
    throw e;
  }
  return { ns, dev, peer, destroy };
}

/** Packets the far end has received so far (its kernel counter). */
export function sinkPackets(t: Pick<SinkTopology, 'ns' | 'peer'>): number {
  const out = execFileSync('ip', ['-n', t.ns, '-s', '-j', 'link', 'show', t.peer], { encoding: 'utf8' });
  return Number(JSON.parse(out)[0].stats64.rx.packets);
}
