/**
 * Main-thread side of generator clients: connects N clients to a link and runs a
 * generator worker for each.
 */
import { Worker } from 'node:worker_threads';
import type { LinkHandle } from '../src/arbiter/host.js';
import { InvalidOptionError, WorkerFailedError } from '../src/errors.js';
import { workerUrl } from '../src/worker-url.js';
import type { GeneratorResult, GeneratorSpec } from './generator.js';
import { MIN_TEST_FRAME } from './packet.js';

export interface GeneratorFleet {
  /** Resolves once every generator thread is running. */
  started: Promise<void>;
  /** Resolves when every generator has finished (packets sent, or stopped). */
  done: Promise<GeneratorResult[]>;
  /** Asks every generator to stop and waits for them. */
  stop(): Promise<GeneratorResult[]>;
  terminate(): Promise<void>;
}

/** @param least The smallest frame the run's test packets need (MIN_STAMPED_FRAME when stamped). */
export function validateSizes(minSize: number, maxSize: number, frameSize: number, least = MIN_TEST_FRAME): void {
  if (!Number.isInteger(minSize) || minSize < least) {
    throw new InvalidOptionError('size', `smallest packet must be an integer ≥ ${least} bytes, got ${minSize}`);
  }
  if (!Number.isInteger(maxSize) || maxSize < minSize || maxSize > frameSize) {
    throw new InvalidOptionError('size', `largest packet must be an integer in [${minSize}, ${frameSize}] (the frame size), got ${maxSize}`);
  }
}

export async function startGenerators(
  link: LinkHandle,
  count: number,
  spec: (i: number) => GeneratorSpec,
  framesPerClient = 512,
): Promise<GeneratorFleet> {
  const workers: Worker[] = [];
  const results: Promise<GeneratorResult>[] = [];
  const online: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const channel = await link.connectClient({ frames: framesPerClient });
    const s = spec(i);
    const w = new Worker(workerUrl('./generator-worker.js', import.meta.url), {
      workerData: { channel, spec: s },
      transferList: s.updates ? [s.updates] : [],
    });
    workers.push(w);
    online.push(new Promise((resolve) => w.once('online', () => resolve())));
    results.push(
      new Promise((resolve, reject) => {
        w.once('message', resolve);
        w.once('error', (e) => reject(new WorkerFailedError(`generator ${i} failed: ${e.message}`)));
        w.once('exit', (code) => reject(new WorkerFailedError(`generator ${i} exited with code ${code} before reporting`)));
      }),
    );
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
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}
