/** Feeder worker entry: builds its clients from their channels, feeds them until stopped, posts the count. */
import { parentPort, workerData } from 'node:worker_threads';
import { placeThisThread } from '../src/placement.js';
import { Client } from '../src/client/client.js';
import type { ClientChannel } from '../src/client/channel.js';
import { runFeeder, type FeederSpec } from './feeder.js';

const { channels, spec } = workerData as { channels: ClientChannel[]; spec: FeederSpec };
placeThisThread(channels[0].placement, 'feeder');
parentPort!.postMessage(
  runFeeder(
    channels.map((c) => new Client(c)),
    spec,
  ),
);
