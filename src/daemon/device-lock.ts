/**
 * One owner per device, host-wide: a daemon that manages a device holds an abstract Unix
 * socket named after the device's ifindex. The kernel releases it the moment the holder
 * dies (no stale lock to clean up, no pid to reuse), and a second daemon's bind fails with
 * EADDRINUSE, so it refuses the device instead of deleting the first one's capture pair.
 * Abstract names belong to the network namespace, as device indices do.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { RejectedChangeError } from '../errors.js';

export interface DeviceLock {
  release(): void;
}

/** Takes `dev`'s lock; rejects with a RejectedChangeError when another daemon holds it. */
export async function lockDevice(dev: string): Promise<DeviceLock> {
  const ifindex = Number(readFileSync(`/sys/class/net/${dev}/ifindex`, 'utf8').trim());
  const server: Server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        e.code === 'EADDRINUSE'
          ? new RejectedChangeError(`device "${dev}" is managed by another pspat daemon on this host (one owner per device)`)
          : new RejectedChangeError(`device "${dev}": cannot take its owner lock (${e.code ?? e.message})`),
      ),
    );
    server.listen(`\0pspat-device-${ifindex}`, resolve);
  });
  server.unref();
  let held = true;
  return {
    release() {
      if (held) server.close();
      held = false;
    },
  };
}
