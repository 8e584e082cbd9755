/** Capture worker entry (capture.ts): builds its client, captures until stopped, posts its counts. */
import { parentPort, workerData } from 'node:worker_threads';
import { placeThisThread } from '../placement.js';
import { READY } from './workers.js';
import { Client } from './client.js';
import type { ClientChannel } from './channel.js';
import { runCapture, type CaptureSpec } from './capture.js';

const { channel, spec } = workerData as { channel: ClientChannel; spec: CaptureSpec };
placeThisThread(channel.placement, 'capture client');
parentPort!.postMessage(runCapture(new Client(channel), spec, () => parentPort!.postMessage(READY)));
