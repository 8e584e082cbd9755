/**
 * A feeder: one thread driving many clients (mailboxes) round-robin, for measuring the
 * arbiter itself as its mailbox count grows. It writes only the descriptor (length and
 * class), never packet bytes: with the null backend nothing reads them, and the thread
 * must stay cheaper than the arbiter it feeds. Classes are taken in turn, so every class
 * is backlogged. When a whole round finds no frame free, it parks briefly on the first
 * client's doorbell instead of spinning (two cores: the arbiter needs the other one).
 */
import type { Client } from '../src/client/client.js';

export interface FeederSpec {
  /** Classes 0..classes−1, in turn. */
  classes: number;
  /** Frame length in bytes. */
  size: number;
  /** Frames taken and sent per client per turn. @default 32 */
  batch?: number;
}

export function runFeeder(clients: Client[], spec: FeederSpec): { sent: number } {
  const batch = spec.batch ?? 32;
  const frames = new Int32Array(batch);
  let cls = 0;
  let sent = 0;
  while (!clients[0].stopRequested) {
    let moved = 0;
    for (const client of clients) {
      // Never more than the client can stage: a frame `send` refused would be lost to us.
      const n = client.takeFrames(frames, Math.min(batch, client.stageRoom));
      for (let i = 0; i < n; i++) {
        client.send(frames[i], spec.size, cls);
        if (++cls === spec.classes) cls = 0;
      }
      // A refused tail stays staged in the client and goes out on a later flush.
      moved += client.flush();
    }
    sent += moved;
    if (moved === 0) clients[0].waitForFrames(0.05);
  }
  return { sent };
}
