/**
 * Test traffic on a link: N generator threads (generator.ts), each a client of its own
 * (src/client/workers.ts starts them), and the checks on the sizes they send.
 */
import type { LinkHandle } from '../src/arbiter/host.js';
import { startClientWorkers, type ClientFleet } from '../src/client/workers.js';
import { InvalidOptionError } from '../src/errors.js';
import { workerUrl } from '../src/worker-url.js';
import type { GeneratorResult, GeneratorSpec } from './generator.js';
import { MIN_TEST_FRAME } from './packet.js';

export type GeneratorFleet = ClientFleet<GeneratorResult>;

/** @param least The smallest frame the run's test packets need (MIN_STAMPED_FRAME when stamped). */
export function validateSizes(minSize: number, maxSize: number, frameSize: number, least = MIN_TEST_FRAME): void {
  if (!Number.isInteger(minSize) || minSize < least) {
    throw new InvalidOptionError('size', `smallest packet must be an integer ≥ ${least} bytes, got ${minSize}`);
  }
  if (!Number.isInteger(maxSize) || maxSize < minSize || maxSize > frameSize) {
    throw new InvalidOptionError('size', `largest packet must be an integer in [${minSize}, ${frameSize}] (the frame size), got ${maxSize}`);
  }
}

export function startGenerators(link: LinkHandle, count: number, spec: (i: number) => GeneratorSpec, framesPerClient = 512): Promise<GeneratorFleet> {
  return startClientWorkers<GeneratorSpec, GeneratorResult>(
    link,
    count,
    workerUrl('./generator-worker.js', import.meta.url),
    'generator',
    spec,
    framesPerClient,
  );
}
