/**
 * Watching the managed devices' transmit ports (every PORT_WATCH_MS): a lowered MTU that
 * frames were released across, a device that stops transmitting (its queues hold), one
 * that is back, and one that is gone — which ends the daemon, unless the follower lets it
 * go (a followed VM's tap device comes and goes with its VM).
 */
import { ENODEV, errnoName } from '../errno.js';
import type { ManagedDevice } from './managed-device.js';

/** How often the daemon looks at its ports' faults (a live read of shared memory). */
export const PORT_WATCH_MS = 200;

export interface PortWatchHooks {
  /** A followed device that is gone: true when the follower let it go. */
  letGo(dev: string): boolean;
  /** A managed device is gone: the daemon cannot go on (`Daemon.fatal`). */
  gone(reason: string): void;
}

/** One look at every device's port; what changed since the last look is said on stderr. */
export function watchPorts(devices: ReadonlyMap<string, ManagedDevice>, hooks: PortWatchHooks): void {
  for (const [dev, d] of devices) {
    const suspect = d.link.mtuSuspect();
    if (suspect > d.mtuSuspect) {
      process.stderr.write(
        `pspat daemon: ${dev}: its MTU was lowered; ${suspect - d.mtuSuspect} frames longer than it were released before pspat saw the change, ` +
          'and AF_PACKET drops such frames without saying so: they count as sent (port.mtuSuspect)\n',
      );
      d.mtuSuspect = suspect;
    }
    const fault = d.link.portFault();
    if (fault === d.portFault) continue;
    d.portFault = fault;
    if (fault === ENODEV) {
      if (!hooks.letGo(dev)) hooks.gone(`${dev}: the device is gone (deleted)`);
    } else if (fault !== 0) {
      process.stderr.write(`pspat daemon: ${dev}: cannot transmit (${errnoName(fault)}): its queues hold until the device is back\n`);
    } else {
      process.stderr.write(`pspat daemon: ${dev}: transmitting again\n`);
    }
  }
}
