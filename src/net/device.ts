/**
 * What pspat reads about a network device from sysfs (this namespace's view), the one
 * setting it writes, and the Ethernet constants that go with frame lengths.
 */
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
