/**
 * Generator worker entry: builds the client from its channel, runs the generator, and
 * posts the result.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { placeThisThread } from '../src/placement.js';
import { Client } from '../src/client/client.js';
import type { ClientChannel } from '../src/client/channel.js';
import { runGenerator, type GeneratorSpec } from './generator.js';

const { channel, spec } = workerData as { channel: ClientChannel; spec: GeneratorSpec };
placeThisThread(channel.placement, 'generator');
const result = runGenerator(new Client(channel), spec);
parentPort!.postMessage(result);
