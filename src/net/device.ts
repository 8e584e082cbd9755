/**
 * What pspat reads about a network device from sysfs (this namespace's view), the one
 * setting it writes, and the Ethernet constants that go with frame lengths.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

export const ETH_HEADER = 14;
export const VLAN_TAG = 4;
export const ETH_P_8021Q = 0x8100;
export const ETH_P_8021AD = 0x88a8;
const DEFAULT_MTU = 1500;

/**
 * Whether `name` can be a network interface's name (IFNAMSIZ − 1 characters, no '/' or
 * white space, not '.' or '..'): names from files or requests become paths under
 * /sys/class/net and RUN_DIR/attach, so anything else is refused before it is used.
 */
export function isInterfaceName(name: unknown): name is string {
  return typeof name === 'string' && /^[A-Za-z0-9_.@+-]{1,15}$/.test(name) && name !== '.' && name !== '..';
}

/** IFF_LOOPBACK in a device's flags. */
const IFF_LOOPBACK = 0x8;

/** The device's ifindex in this namespace, or null when there is no such device. */
export function ifindexOf(dev: string): number | null {
  try {
    return Number(readFileSync(`/sys/class/net/${dev}/ifindex`, 'utf8'));
  } catch {
    return null;
  }
}

/** True for a loopback device (`lo`): it has no wire to schedule. */
export function isLoopback(dev: string): boolean {
  try {
    return (Number(readFileSync(`/sys/class/net/${dev}/flags`, 'utf8').trim()) & IFF_LOOPBACK) !== 0;
  } catch {
    return false;
  }
}

/** The device's MTU; 1500 when sysfs cannot say (the device's open reports a missing device). */
export function deviceMtu(dev: string): number {
  try {
    const mtu = Number(readFileSync(`/sys/class/net/${dev}/mtu`, 'utf8'));
    return Number.isInteger(mtu) && mtu > 0 ? mtu : DEFAULT_MTU;
  } catch {
    return DEFAULT_MTU;
  }
}

/**
 * Turns IPv6 off on `dev` (where the kernel has IPv6), so the kernel sends nothing of its
 * own from it: no router solicitations, DAD or MLD reports. Before the device goes up,
 * or some may already be on their way.
 */
export function turnOffIpv6(dev: string): void {
  const path = `/proc/sys/net/ipv6/conf/${dev}/disable_ipv6`;
  if (existsSync(path)) writeFileSync(path, '1');
}

/** What the kernel's qdiscs take from their device when a command leaves it out. */
export interface DeviceFacts {
  /** Transmit queues the device was created with (not only the real ones): a root qdisc's refcnt is this plus one. */
  txQueues: number;
  /** txqueuelen: pfifo's and htb direct_qlen's default limit. */
  txQueueLen: number;
  mtu: number;
}

/** A device pspat cannot read (the null backend's named-only devices): a one-queue Ethernet device. */
export const DEFAULT_DEVICE_FACTS: DeviceFacts = { txQueues: 1, txQueueLen: 1000, mtu: DEFAULT_MTU };

/**
 * `dev`'s facts, from `ip -d -j link show` (sysfs lists only the real transmit queues,
 * and the kernel's refcnt counts every one); the defaults when it cannot say. A fork:
 * called when a device is taken over, not per command.
 */
export function deviceFacts(dev: string): DeviceFacts {
  try {
    const [link] = JSON.parse(execFileSync('ip', ['-d', '-j', 'link', 'show', 'dev', dev], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })) as {
      num_tx_queues?: number;
      txqlen?: number;
      mtu?: number;
    }[];
    return {
      txQueues: link.num_tx_queues ?? DEFAULT_DEVICE_FACTS.txQueues,
      txQueueLen: link.txqlen ?? DEFAULT_DEVICE_FACTS.txQueueLen,
      mtu: link.mtu ?? DEFAULT_DEVICE_FACTS.mtu,
    };
  } catch {
    return DEFAULT_DEVICE_FACTS;
  }
}
