/** Port sender worker entry (port-sender.ts): sends until the stop word is set, posts the count. */
import { parentPort, workerData } from 'node:worker_threads';
import { placeThisThread } from '../placement.js';
import { runPortSender, type PortSenderSpec } from './port-sender.js';

const { spec, stop } = workerData as { spec: PortSenderSpec; stop: SharedArrayBuffer };
placeThisThread(spec.placement, 'sender');
parentPort!.postMessage(runPortSender(spec, new Int32Array(stop)));
