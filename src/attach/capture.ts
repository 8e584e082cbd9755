/**
 * A capture client: reads the frames redirected off an attached device (attach.ts) from
 * the capture veth straight into its own pool frames, classifies each with the device's
 * filters (compiled here, in the client thread, as ARCHITECTURE puts classification),
 * and hands them to the arbiter like any client. Several capture clients share one
 * device through the socket's fanout group, each on its own thread.
 *
 * A frame longer than the pool's frames (a GSO super-packet the offload settings did not
 * prevent, e.g. forwarded after GRO) is counted (`oversize`) and its frame reused; a
 * packet no class takes is counted `unclassified`. A full mailbox makes the client wait
 * (backpressure into the socket's buffer); packets the kernel then dropped because this
 * client did not keep up are counted by the socket (`kernelDrops`).
 */
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { Client } from '../client.js';
import { PspatError } from '../errors.js';
import { PacketClassifier, type ClassifierConfig } from '../tc/packet-classifier.js';
import { ENETDOWN, ENXIO, errnoName, nativeAddon } from '../transmit/native.js';
import { CAPTURE_NETNS } from './attach.js';

export interface CaptureSpec {
  /** The capture veth end to read (attach.ts's capturePeer, in CAPTURE_NETNS). */
  ifname: string;
  /** Fanout group shared by the device's capture clients (0: a single client). */
  group: number;
  classifier: ClassifierConfig;
  /** Newer classifier configurations (filter changes), read between batches. */
  updates: MessagePort;
}

export interface CaptureResult {
  captured: number;
  kernelDrops: number;
}

const BATCH = 64;
/** How long a read waits for the first packet before looking at stop requests and updates. */
const POLL_MS = 50;
/** Reads between two looks at the socket's drop count (a syscall of its own), and one at the end. */
const DROPS_EVERY = 32;

export function runCapture(client: Client, spec: CaptureSpec): CaptureResult {
  const addon = nativeAddon();
  const handle = addon.captureOpen(`/run/netns/${CAPTURE_NETNS}`, spec.ifname, spec.group);
  if (handle < 0) throw new PspatError('ERR_PSPAT_CAPTURE', `cannot open a capture socket on ${spec.ifname} (${errnoName(handle)})`);
  const pool = client.pool;
  const umem = new Uint8Array(pool.layout.umem, pool.layout.umemOffset, pool.frames * pool.frameSize);
  const frames = new Int32Array(BATCH);
  let classifier = new PacketClassifier(spec.classifier);
  let have = 0;
  let captured = 0;
  let kernelDrops = 0;
  let reads = 0;
  const countDrops = () => {
    const dropped = addon.captureDrops(handle);
    client.dropCaptured(dropped);
    kernelDrops += dropped;
  };
  try {
    while (!client.stopRequested) {
      for (let m = receiveMessageOnPort(spec.updates); m !== undefined; m = receiveMessageOnPort(spec.updates)) {
        classifier = new PacketClassifier(m.message as ClassifierConfig);
      }
      if (have < BATCH) have += client.takeFrames(frames.subarray(have), Math.min(BATCH - have, client.stageRoom));
      if (have === 0) {
        client.flush();
        client.waitForFrames(POLL_MS);
        continue;
      }
      const n = addon.captureRead(handle, umem, pool.frameSize, frames, have, pool.len, POLL_MS);
      if (n === ENETDOWN || n === ENXIO) break; // the capture pair is gone: the device was given back
      if (n < 0) throw new PspatError('ERR_PSPAT_CAPTURE', `capture on ${spec.ifname}: read failed (${errnoName(n)})`);
      let used = 0;
      for (let i = 0; i < n; i++) {
        const f = frames[i];
        const len = pool.len[f];
        const off = pool.offsetOf(f);
        captured++;
        if (len > pool.frameSize) {
          client.dropOversize();
          frames[used++] = f; // reused below: refill in place
          continue;
        }
        const cls = classifier.slotFor(pool.bytes, off, len);
        if (cls < 0) {
          client.dropUnclassified();
          frames[used++] = f;
          continue;
        }
        // A full mailbox holds the capture back (the socket's buffer absorbs, then the
        // kernel counts its drops): the packet waits here, it is not lost.
        const flow = classifier.flows.hash(pool.bytes, off, len);
        while (!client.send(f, len, cls, flow, classifier.lastPolice, classifier.lastSub) && !client.stopRequested) client.waitForFrames(1);
      }
      // Frames kept back (dropped packets) go to the front, then the ones the read did not fill.
      frames.copyWithin(used, n, have);
      have = used + (have - n);
      client.flush();
      if (++reads % DROPS_EVERY === 0) countDrops();
    }
    while (client.pending > 0 && client.flush() === 0) client.waitForFrames(1);
    countDrops();
  } finally {
    addon.captureClose(handle);
  }
  return { captured, kernelDrops };
}
