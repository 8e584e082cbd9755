/**
 * Follow mode: for a followed device the kernel's own tc configuration is the source of
 * truth. Whatever writes it — the `tc` binary, a netlink library, pyroute2 — writes it to
 * the kernel, which validates it (a client sees the kernel's own errors); pspat dumps it
 * at start, then listens to RTNLGRP_TC and, on every change to a followed device, dumps
 * that device again and applies the difference to the same model `pspat tc` builds
 * (commands.ts). The device's egress is taken over as for `pspat tc`, so the kernel's
 * qdisc holds the configuration and sees no traffic.
 *
 * What pspat does not implement (a kind, an option, a hash table) is said once, and the
 * device is given back to the kernel's own path: never half-shaped. It is taken again once
 * its configuration is one pspat implements. Changes are applied one device at a time, in
 * the daemon's command queue, and dumps are per device: a burst of changes costs one dump.
 */
import { readdirSync } from 'node:fs';
import { ifindexOf, isInterfaceName, isLoopback } from '../net/device.js';
import { RTM_GETQDISC, RTM_GETTCLASS, RTM_GETTFILTER, RTMGRP_LINK, RTMGRP_TC, TcNetlink } from './netlink.js';
import { followCommands } from './commands.js';
import { decodeDevice, egressQdiscs, type Decoded, type KernelConfig } from './tc-decode.js';

/** What the follower needs of the daemon. */
export interface FollowHost {
  /** Applies one command line from the kernel's configuration to pspat's model; null, or what refused it. */
  apply(argv: string[]): Promise<string | null>;
  /** Whether pspat schedules `dev` now. */
  manages(dev: string): boolean;
  /** Whether pspat may manage `dev` at all (the daemon's --devices): `all` follows only those. */
  selects(dev: string): boolean;
  say(line: string): void;
}

/** How often announced changes are read: a change is enforced within this (plus its dump). */
export const FOLLOW_POLL_MS = 20;

function deviceNames(): Map<number, string> {
  const out = new Map<number, string>();
  for (const dev of readdirSync('/sys/class/net')) {
    const i = ifindexOf(dev);
    if (i !== null) out.set(i, dev);
  }
  return out;
}

export class Follower {
  /** Joined before the first dump: a change made while dumping is announced, not missed. Links too: a device deleted says so there. */
  private readonly changes = new TcNetlink(RTMGRP_TC | RTMGRP_LINK);
  private readonly dumps = new TcNetlink(0);
  /** Per followed device, the configuration pspat enforces now (null: none, the kernel's path). */
  private readonly enforced = new Map<string, KernelConfig | null>();
  /** Per device pspat gave back, why: said once. */
  private readonly refused = new Map<string, string>();
  private readonly dirty = new Set<string>();
  /** The sync in progress, if any (stop waits for it: the sockets close after their last use). */
  private syncing: Promise<void> | null = null;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly all: boolean;

  /** `devices`: the followed names, or ['all']: every device but loopback and pspat's own capture pairs. */
  constructor(
    private readonly devices: readonly string[],
    private readonly host: FollowHost,
  ) {
    this.all = devices.length === 1 && devices[0] === 'all';
  }

  follows(dev: string): boolean {
    if (this.all) return isInterfaceName(dev) && !isLoopback(dev) && !/^psc\d+p?$/.test(dev) && this.host.selects(dev);
    return this.devices.includes(dev);
  }

  /** Enforces what the kernel holds now for every followed device, then follows its changes. */
  async start(): Promise<void> {
    for (const dev of this.all ? deviceNames().values() : this.devices) if (this.follows(dev)) this.dirty.add(dev);
    await this.syncDirty();
    this.timer = setInterval(() => this.poll(), FOLLOW_POLL_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.syncing;
    this.changes.close();
    this.dumps.close();
  }

  /** Looks at `dev` again now (the daemon saw its port fail: deleted?). */
  recheck(dev: string): void {
    this.dirty.add(dev);
    this.poll();
  }

  private poll(): void {
    if (this.stopped) return;
    try {
      this.collect();
    } catch (e) {
      this.host.say(`follow: ${(e as Error).message}`);
    }
    this.syncing ??= this.syncDirty()
      .catch((e: Error) => this.host.say(`follow: ${e.message}`))
      .finally(() => (this.syncing = null));
  }

  /** Marks the followed devices the announced changes touched. */
  private collect(): void {
    const changes = this.changes.changes();
    if (changes === 'lost') {
      // The socket overflowed: some changes were not announced. Look at every device again.
      for (const dev of this.all ? deviceNames().values() : this.devices) if (this.follows(dev)) this.dirty.add(dev);
    } else if (changes.length > 0) {
      const names = deviceNames();
      for (const m of changes) {
        const dev = names.get(m.ifindex);
        if (dev !== undefined && this.follows(dev)) this.dirty.add(dev);
        // A device that went is no longer in the names: whatever pspat enforced on it is looked at too.
        else if (dev === undefined) for (const d of this.enforced.keys()) if (ifindexOf(d) === null) this.dirty.add(d);
      }
    }
  }

  private async syncDirty(): Promise<void> {
    while (this.dirty.size > 0 && !this.stopped) {
      const [dev] = this.dirty;
      this.dirty.delete(dev);
      await this.sync(dev);
    }
  }

  /** The device's configuration as the kernel holds it now. */
  private read(dev: string): Decoded {
    const ifindex = ifindexOf(dev);
    if (ifindex === null) return null;
    const qdiscs = this.dumps.dump(RTM_GETQDISC, ifindex);
    const classes = this.dumps.dump(RTM_GETTCLASS, ifindex);
    const filters = egressQdiscs(qdiscs).flatMap((q) => this.dumps.dump(RTM_GETTFILTER, ifindex, q.handle));
    return decodeDevice(dev, qdiscs, classes, filters);
  }

  private async sync(dev: string): Promise<void> {
    const now = this.read(dev);
    const before = this.enforced.get(dev) ?? null;
    if (before !== null && ifindexOf(dev) === null) this.host.say(`follow: ${dev}: the device is gone: no longer scheduled`);
    if (now !== null && 'unsupported' in now) return this.giveBack(dev, `its configuration has ${now.unsupported}, which pspat does not implement`);
    for (const line of followCommands(dev, before, now)) {
      const refusal = await this.host.apply(line.split(' '));
      if (refusal !== null) return this.giveBack(dev, `pspat refused \`tc ${line}\`: ${refusal}`);
    }
    this.enforced.set(dev, now);
    if (this.refused.delete(dev) && now !== null) this.host.say(`follow: ${dev}: scheduled by pspat again`);
  }

  /** Hands `dev` back to the kernel's own qdisc (which holds its configuration), saying why once. */
  private async giveBack(dev: string, why: string): Promise<void> {
    if (this.refused.get(dev) !== why) this.host.say(`follow: ${dev}: ${why}; the kernel schedules it`);
    this.refused.set(dev, why);
    this.enforced.set(dev, null);
    if (this.host.manages(dev)) await this.host.apply(['qdisc', 'del', 'dev', dev, 'root']);
  }
}
