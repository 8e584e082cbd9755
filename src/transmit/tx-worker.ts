/**
 * Transmit worker entry: opens the native port on this thread and runs the loop. A port
 * that cannot open (its queue taken meanwhile, the device gone) starts faulted, so the
 * arbiter sees the fault and gets its frames back failed, and reopens once it can.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { FramePool } from '../shm/frame-pool.js';
import { SpscRing } from '../shm/spsc-ring.js';
import { NativePort } from './native-port.js';
import { runTransmitLoop } from './tx-loop.js';
import type { TxWorkerStart } from './tx-worker-port.js';
import { placeThisThread } from '../placement.js';

const start = workerData as TxWorkerStart;
placeThisThread(start.placement, 'transmit worker');
const port = new NativePort(start.port, new FramePool(start.pool), start.capacity, new Float64Array(start.info), 'fault');
runTransmitLoop(port, new SpscRing(start.tx), new SpscRing(start.done), new Int32Array(start.stop), start.capacity);
port.close();
parentPort?.close();
