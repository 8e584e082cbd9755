/**
 * Test worker: pushes 0..count-1 into a ring in seeded random batch sizes, parking on
 * the ring's consumer-freed space by polling (the consumer here never rings back).
 */
import { workerData, parentPort } from 'node:worker_threads';
import { SpscRing } from '../../src/shm/spsc-ring.js';
import { Rng } from '../../src/random.js';

const { buffer, count, seed, maxBatch } = workerData as { buffer: SharedArrayBuffer; count: number; seed: number; maxBatch: number };
const ring = new SpscRing(buffer);
const rng = new Rng(seed);
const batch = new Int32Array(maxBatch);
let next = 0;
let fullTimes = 0;
while (next < count) {
  const want = Math.min(rng.int(1, maxBatch), count - next);
  for (let i = 0; i < want; i++) batch[i] = next + i;
  const n = ring.push(batch, 0, want);
  if (n === 0) fullTimes++;
  next += n;
}
parentPort!.postMessage({ fullTimes });
