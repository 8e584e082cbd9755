/**
 * Arbiter worker entry: reads the start message, places this thread (its CPU, its
 * priority) and says so to the host, then runs the arbiter loop on this thread until it
 * is told to stop. Commands are pulled synchronously from the port
 * (receiveMessageOnPort), so the loop never yields to the event loop.
 */
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { placeThisThread } from '../placement.js';
import { Arbiter } from './arbiter.js';
import type { ArbiterStart, Reply, Request } from './control.js';

const start = workerData as ArbiterStart & { port: MessagePort };
const port = start.port;
// Throws (the host's start fails with why) when the placement is refused.
const threadId = placeThisThread(start.options.placement, 'arbiter');
const arbiter = new Arbiter(
  start,
  () => receiveMessageOnPort(port)?.message as Request | undefined,
  (r: Reply) => port.postMessage(r),
  threadId,
);
parentPort!.postMessage({ threadId });
arbiter.run();
port.close();
parentPort?.close();
