/**
 * A worker's side of a futex, for tests that park a real thread: `WAIT_SOURCE` defines
 * `wait(words, index, expected, ms)` in an eval'd worker, on the native futex when
 * `workerData.addon` names the addon, else on the Atomics. A worker parked on a doorbell
 * must use the kind the process's doorbells ring (`futexAddon()`; src/shm/futex.ts), since
 * neither kind wakes the other's sleepers.
 */
import { atomicsFutex, futex } from '../../src/shm/futex.js';
import { nativeBuildFile } from '../../src/transmit/native.js';

/** The addon's path when doorbells use the native futex, else null (the Atomics). */
export const futexAddon = (): string | null => (futex === atomicsFutex ? null : nativeBuildFile('pspat_native.node'));

export const WAIT_SOURCE = `
  const futexAddon = workerData.addon ? require(workerData.addon) : null;
  const wait = (words, index, expected, ms) =>
    futexAddon ? void futexAddon.futexWait(words, index, expected, ms) : void Atomics.wait(words, index, expected, ms);`;
