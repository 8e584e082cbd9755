/**
 * Main-thread side of client threads: connects N clients to a link and runs a worker for
 * each, one client per thread — generators (traffic/), capture clients (capture.ts).
 */
import { Worker, type MessagePort } from 'node:worker_threads';
import type { LinkHandle } from '../arbiter/host.js';
import { WorkerFailedError } from '../errors.js';

/** Client threads on one link: generators, capture clients, any worker that runs one client. */
export interface ClientFleet<R> {
  /** Resolves once every thread is running (or, with `READY` handshakes, says it is ready); rejects if one fails first. */
  started: Promise<void>;
  /** Resolves when every thread has finished (its work done, or stopped). */
  done: Promise<R[]>;
  /** Asks every client to stop and waits for them. */
  stop(): Promise<R[]>;
  terminate(): Promise<void>;
}

/** What a worker started with `handshake` posts once it can do its work (a capture client: its socket open), before its result. */
export const READY = 'ready';

/**
 * Connects `count` clients to `link` and starts worker `entry` for each, with its channel
 * and `spec(i)` (a MessagePort in `spec.updates` is transferred); each posts one result,
 * and with `handshake`, READY before it.
 */
export async function startClientWorkers<S extends { updates?: MessagePort }, R>(
  link: LinkHandle,
  count: number,
  entry: URL,
  what: string,
  spec: (i: number) => S,
  framesPerClient: number,
  handshake = false,
): Promise<ClientFleet<R>> {
  const workers: Worker[] = [];
  const results: Promise<R>[] = [];
  const online: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const channel = await link.connectClient({ frames: framesPerClient });
    const s = spec(i);
    const w = new Worker(entry, { workerData: { channel, spec: s }, transferList: s.updates ? [s.updates] : [] });
    workers.push(w);
    const result = new Promise<R>((resolve, reject) => {
      w.on('message', (m) => m !== READY && resolve(m as R));
      w.once('error', (e) => reject(new WorkerFailedError(`${what} ${i} failed: ${e.message}`)));
      w.once('exit', (code) => reject(new WorkerFailedError(`${what} ${i} exited with code ${code} before reporting`)));
    });
    results.push(result);
    const ready = new Promise<void>((resolve) => (handshake ? w.on('message', (m) => m === READY && resolve()) : w.once('online', () => resolve())));
    // A worker that fails before it is ready fails the start.
    online.push(Promise.race([ready, result.then(() => undefined)]));
  }
  const done = Promise.all(results);
  return {
    started: Promise.all(online).then(() => undefined),
    done,
    async stop() {
      link.stopClients();
      return done;
    },
    async terminate() {
      done.catch(() => undefined); // stopped on purpose: no results are coming, and no one waits for them
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}
