/**
 * Threads a test starts (arbiters, generator fleets, workers) ended after each test,
 * whether it passed or not, newest first: `host = ended(await ArbiterHost.start())`.
 * Call `endAfterEach()` once at a file's top level.
 */
import { afterEach } from 'vitest';

interface Terminable {
  terminate(): Promise<unknown>;
}

const running: Terminable[] = [];

export function ended<T extends Terminable>(thing: T): T {
  running.push(thing);
  return thing;
}

export function endAfterEach(): void {
  afterEach(async () => {
    for (let t = running.pop(); t !== undefined; t = running.pop()) await t.terminate();
  });
}
