/**
 * The egress benchmark's flat-out VM sender (vm-traffic.ts's `flood`, the addon's
 * udpFlood): every datagram it counts as sent reaches the far end of a veth, or is counted
 * dropped on the way; a bad destination is refused with EINVAL, sending nothing.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errnoName } from '../src/errno.js';
import { createSinkTopology, type SinkTopology } from '../src/testbed/netns.js';
import { tryNativeAddon } from '../src/transmit/native.js';
import { skipWithoutNet } from './helpers/netns.js';

interface LinkCounters {
  rx: { packets: number; dropped: number };
  tx: { packets: number; dropped: number };
}

function countersOf(dev: string, ns?: string): LinkCounters {
  const args = [...(ns ? ['-n', ns] : []), '-s', '-j', 'link', 'show', dev];
  return JSON.parse(execFileSync('ip', args, { encoding: 'utf8' }))[0].stats64;
}

describe.skipIf(skipWithoutNet() || tryNativeAddon() === null)('the flood sender', () => {
  let topo: SinkTopology;
  beforeAll(() => {
    topo = createSinkTopology('flood');
    execFileSync('ip', ['link', 'set', topo.dev, 'address', '02:00:00:00:00:01']);
    execFileSync('ip', ['addr', 'add', '10.77.0.1/24', 'dev', topo.dev]);
    // No ARP either way (the far end answers with ICMP port unreachable): the counters
    // then hold the datagrams alone.
    execFileSync('ip', ['neigh', 'replace', '10.77.0.2', 'lladdr', '02:00:00:00:00:02', 'dev', topo.dev, 'nud', 'permanent']);
    execFileSync('ip', ['-n', topo.ns, 'neigh', 'replace', '10.77.0.1', 'lladdr', '02:00:00:00:00:01', 'dev', topo.peer, 'nud', 'permanent']);
  });
  afterAll(() => topo?.destroy());

  it('accounts for every datagram it sent at the far end', () => {
    const peer0 = countersOf(topo.peer, topo.ns);
    const dev0 = countersOf(topo.dev);
    const sent = tryNativeAddon()!.udpFlood('10.77.0.2', 5001, 22, 0.2);
    const peer1 = countersOf(topo.peer, topo.ns);
    const dev1 = countersOf(topo.dev);
    expect(sent).toBeGreaterThan(0);
    expect(dev1.tx.packets - dev0.tx.packets).toBe(sent);
    expect(peer1.rx.packets - peer0.rx.packets + (peer1.rx.dropped - peer0.rx.dropped) + (dev1.tx.dropped - dev0.tx.dropped)).toBe(sent);
  });

  it('refuses a destination that is not an IPv4 address', () => {
    expect(errnoName(tryNativeAddon()!.udpFlood('10.77.0', 5001, 22, 0.1))).toBe('EINVAL');
  });
});
