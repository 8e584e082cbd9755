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
