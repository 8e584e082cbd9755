/**
 * The daemon's privileges: which capabilities managing devices takes, a check that names
 * what is missing before any device is touched, and `--user`, which drops root but keeps
 * exactly those capabilities.
 *
 * Capabilities belong to threads. `dropPrivileges` acts on the main thread before it
 * starts the arbiter threads (which open the transmit sockets and inherit its set), and
 * raises the kept ones as ambient capabilities so the `ip` and `tc` it runs keep them.
 */
import { readFileSync } from 'node:fs';
import { PspatError } from '../errors.js';
import { nativeAddon } from '../transmit/native.js';
import { errnoName } from '../errno.js';
import { constants as osConstants } from 'node:os';

const CAPABILITY_BITS = { CAP_DAC_OVERRIDE: 1, CAP_NET_ADMIN: 12, CAP_NET_RAW: 13, CAP_IPC_LOCK: 14, CAP_SYS_ADMIN: 21, CAP_SYS_NICE: 23 } as const;
export type Capability = keyof typeof CAPABILITY_BITS;

export class PrivilegeError extends PspatError {
  constructor(message: string) {
    super('ERR_PSPAT_PRIVILEGE', message);
  }
}

/**
 * What a daemon with this backend needs: transmit sockets (CAP_NET_RAW) and socket
 * options (CAP_NET_ADMIN); taking over egress also runs `tc`/`ip` on the device
 * (CAP_NET_ADMIN), loads the diversion program and creates and joins the capture
 * namespace (CAP_SYS_ADMIN, which covers BPF), whose name
 * `ip netns` keeps as a file in root's /run/netns (CAP_DAC_OVERRIDE). AF_XDP sockets
 * (the afxdp backend, XDP capture) pin the frame pool's pages, which without CAP_IPC_LOCK
 * count against RLIMIT_MEMLOCK (8 MB by default: less than a pool). Real-time priority
 * for a thread (SCHED_FIFO), or a negative nice value, takes CAP_SYS_NICE, whatever the backend.
 */
export function neededCapabilities(o: { native: boolean; attach: boolean; xdpSockets?: boolean; realtime?: boolean }): Capability[] {
  const caps: Capability[] = [];
  if (o.native) caps.push('CAP_NET_ADMIN', 'CAP_NET_RAW');
  if (o.native && o.attach) caps.push('CAP_SYS_ADMIN', 'CAP_DAC_OVERRIDE');
  if (o.native && o.xdpSockets) caps.push('CAP_IPC_LOCK');
  if (o.realtime) caps.push('CAP_SYS_NICE');
  return caps;
}

/** The calling thread's effective capabilities (its /proc status line). */
function effectiveCapabilities(): bigint {
  const line = readFileSync('/proc/thread-self/status', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('CapEff:'));
  return line ? BigInt(`0x${line.slice(7).trim()}`) : 0n;
}

export function missingCapabilities(needed: Capability[]): Capability[] {
  const have = effectiveCapabilities();
  return needed.filter((c) => ((have >> BigInt(CAPABILITY_BITS[c])) & 1n) === 0n);
}

/** Throws one line naming what `what` needs and which of it this process lacks. */
export function requireCapabilities(needed: Capability[], what: string, hint: string): void {
  const missing = missingCapabilities(needed);
  if (missing.length > 0) throw new PrivilegeError(`${what} needs ${needed.join(', ')}; this process lacks ${missing.join(', ')} (${hint})`);
}

/** uid and gid of a user name (or numeric uid), as the system's user database (NSS: files, LDAP, sssd) has it. */
const ENOENT = -osConstants.errno.ENOENT;

export function lookupUser(user: string): { uid: number; gid: number } {
  const ids = new Int32Array(2);
  const r = nativeAddon().lookupUser(user, ids);
  if (r === ENOENT) throw new PrivilegeError(`--user: no such user '${user}'`);
  check(`looking up user '${user}'`, r);
  return { uid: ids[0], gid: ids[1] };
}

function check(what: string, r: number): void {
  if (r < 0) throw new PrivilegeError(`--user: ${what} failed (${errnoName(r)})`);
}

/**
 * Becomes the user of `uid` and `gid` (lookupUser), keeping only `keep`. The run directory stays root's (a root process
 * trusts what is in it later, so it is never handed to another user): the daemon keeps
 * writing there through CAP_DAC_OVERRIDE when it takes devices over; without it, what it
 * cannot write (run.json, removing its socket at exit) is said and skipped. Must run
 * before any thread that needs the kept capabilities starts.
 */
export function dropPrivileges({ uid, gid }: { uid: number; gid: number }, keep: Capability[]): void {
  if (process.getuid?.() !== 0) throw new PrivilegeError('--user: only root can change to another user');
  const addon = nativeAddon();
  check('keeping capabilities across setuid', addon.keepCapabilitiesOnSetuid());
  // Its supplementary groups too, from the same database (initgroups), as a login would have them.
  process.initgroups!(uid, gid);
  process.setgid!(gid);
  process.setuid!(uid);
  const mask = keep.reduce((m, c) => m | (1n << BigInt(CAPABILITY_BITS[c])), 0n);
  check('setting capabilities', addon.setCapabilities(mask));
}
