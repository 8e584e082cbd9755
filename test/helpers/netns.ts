/**
 * Network-namespace topologies for I/O tests: a veth pair whose near end stays in this
 * namespace (pspat transmits on it) and whose far end lives in a fresh sink namespace
 * with the test packets' destination MAC and IP. Everything is removed by `destroy`
 * (deleting the namespace deletes the pair), which tests call in afterAll.
 *
 * Tests that need this skip with a stated reason when not root, unless
 * PSPAT_REQUIRE_NET=1 (CI), which turns the skip into a failure.
 */
import { execFileSync } from 'node:child_process';

export const NET_REASON = process.getuid?.() === 0 ? null : 'network-namespace tests need root (CAP_NET_ADMIN)';

/** Call at the top of a describe: returns true when the tests must be skipped. */
export function skipWithoutNet(): boolean {
  if (NET_REASON === null) return false;
  if (process.env.PSPAT_REQUIRE_NET === '1') throw new Error(`PSPAT_REQUIRE_NET=1 but ${NET_REASON}`);
  console.warn(`skipping: ${NET_REASON}`);
  return true;
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

export interface SinkTopology {
  ns: string;
  /** The near end: pspat transmits here. */
  dev: string;
  destroy(): void;
}

export function createSinkTopology(tag: string): SinkTopology {
  const id = `${tag}${process.pid % 100000}`;
  const ns = `pspat-${id}`;
  const dev = `ps${id}`.slice(0, 15);
  const peer = `pk${id}`.slice(0, 15);
  const destroy = () => {
    try { ip('netns', 'del', ns); } catch { /* already gone */ }
    try { ip('link', 'del', dev); } catch { /* went with the namespace */ }
  };
  destroy();
  try {
    ip('netns', 'add', ns);
    ip('link', 'add', dev, 'type', 'veth', 'peer', 'name', peer, 'netns', ns);
    ip('link', 'set', dev, 'up');
    ip('-n', ns, 'link', 'set', peer, 'address', '02:00:00:00:00:02', 'up');
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    ip('-n', ns, 'addr', 'add', '10.77.0.2/24', 'dev', peer);
  } catch (e) {
    destroy();
    throw e;
  }
  return { ns, dev, destroy };
}
