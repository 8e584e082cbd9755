/**
 * Transmit worker entry: opens the native port on this thread and runs the loop. A port
 * that cannot open (its queue taken meanwhile, the device gone) starts faulted, so the
 * arbiter sees the fault and gets its frames back failed, and reopens once it can.
 *
 * A worker that fails for any other reason (it cannot place itself, an exception in the
 * loop) must not leave its link's frames nowhere: the arbiter runs a loop that never turns
 * its event loop, so a worker's `error` event would never reach it, and the frames it had
 * handed over would never come back (the link would stop, its removal wait for ever). So
 * the worker says why on stderr, faults its link's port for good with EPIPE (the pipe to
 * the device is broken: the arbiter releases nothing more, and `pspat stats` and the
 * metrics show the fault), and goes on handing back every frame it holds or is given,
 * failed, until it is stopped.
 */
import { writeSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { EPIPE } from '../errno.js';
import { FramePool } from '../shm/frame-pool.js';
import { SpscRing } from '../shm/spsc-ring.js';
import { countersOf, INFO_FAULT, INFO_FAULTS, NativePort } from './native-port.js';
import type { TxPort } from './port.js';
import { newTxLoopState, runTransmitLoop } from './tx-loop.js';
import type { TxWorkerStart } from './tx-worker-port.js';
import { PlacementError, placeThisThread } from '../placement.js';

/**
 * What is left of a port whose worker failed: it takes nothing, hands back what the native
 * port still held (failed, as faultWith makes it), and stays faulted with EPIPE.
 */
function deadPort(port: NativePort | null, info: Float64Array): TxPort {
  if (port !== null) port.faultWith(EPIPE);
  else info[INFO_FAULTS]++; // the fault a port that never opened could not count
  info[INFO_FAULT] = EPIPE;
  return {
    name: `${port?.name ?? 'port'}/dead`,
    get inFlight() {
      return port?.inFlight ?? 0;
    },
    get fault() {
      return EPIPE;
    },
    counters: () => countersOf(info),
    submit: () => 0,
    reap(done, status, max) {
      // Reaped only while it holds frames: once empty it closes, and a reap would reopen it.
      if (port === null || port.inFlight === 0) return 0;
      const n = port.reap(done, status, max);
      info[INFO_FAULT] = EPIPE;
      return n;
    },
    close: () => port?.close(),
  };
}

const start = workerData as TxWorkerStart;
const who = `transmit worker for ${start.port.dev}`;
const info = new Float64Array(start.info);
const tx = new SpscRing(start.tx);
const done = new SpscRing(start.done);
const stop = new Int32Array(start.stop);
const state = newTxLoopState(start.capacity);
let port: NativePort | null = null;
let running: TxPort;
try {
  placeThisThread(start.placement, who);
  port = new NativePort(start.port, new FramePool(start.pool), start.capacity, info, 'fault');
  running = port;
  runTransmitLoop(port, tx, done, stop, state);
} catch (e) {
  // Straight to fd 2: the worker's console goes through the arbiter's event loop, which does not turn.
  const why = e instanceof PlacementError ? e.message : `${who}: ${(e as Error).message}`;
  writeSync(2, `pspat: ${why}; its port is faulted (EPIPE) and every frame it is given comes back failed\n`);
  running = deadPort(port, info);
  runTransmitLoop(running, tx, done, stop, state);
}
running.close();
parentPort?.close();
