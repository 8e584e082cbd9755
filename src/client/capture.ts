/**
 * A capture client: takes the frames diverted off an attached device (attach.ts) into its
 * own pool frames (capture-source.ts: from its capture ring and the capture pair by XDP
 * where both load, from the pair by XDP, else by a packet socket), classifies each with
 * the device's filters (compiled here, in the client thread, as ARCHITECTURE puts
 * classification), and hands them to the arbiter like any client. Several capture clients
 * share one device, each on its own thread and receive queue (XDP) or in the device's
 * fanout group (packet sockets).
 *
 * A frame longer than the pool's frames (a GSO super-packet the offload settings did not
 * prevent, e.g. forwarded after GRO) is counted (`oversize`) and its frame reused; a
 * packet no class takes is counted `unclassified`. A full mailbox makes the client wait
 * (backpressure into the source's buffer); packets the kernel then dropped because this
 * client had no room for them are counted by the source (`kernelDrops`).
 */
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { Client } from './client.js';
import { PspatError } from '../errors.js';
import { PacketClassifier, type ClassifierConfig } from '../tc/packet-classifier.js';
import { ENETDOWN, ENXIO, errnoName } from '../errno.js';
import { PacketSource, RingSource, XskSource, type CaptureSource, type RingCaptureSpec, type XskCaptureSpec } from './capture-source.js';
import type { FramePool } from '../shm/frame-pool.js';

export interface CaptureSpec {
  /** The capture veth end to read (attach.ts's capturePeer), and the namespace it is in (/run/netns/…: attach.ts's captureNetns). */
  ifname: string;
  netns: string;
  /** XDP capture (the device's socket map, this client's queue), or null for a packet socket. */
  xsk: XskCaptureSpec | null;
  /** This client's capture ring (with XDP capture only: the pair's socket takes what the ring cannot), or null. */
  ring: RingCaptureSpec | null;
  /** Fanout group shared by the device's packet-socket capture clients (0: a single client). */
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
/** Reads between two looks at the source's drop count (a syscall of its own), and one at the end. */
const DROPS_EVERY = 32;

function openSource(pool: FramePool, spec: CaptureSpec, epoch: bigint): CaptureSource {
  if (spec.xsk === null) return new PacketSource(pool, spec.netns, spec.ifname, spec.group);
  const pair = new XskSource(pool, spec.netns, spec.ifname, spec.xsk);
  return spec.ring === null ? pair : new RingSource(pool, spec.ring, pair, epoch);
}

/** `ready` is called once the source is open: from then on, what is diverted to the capture pair is taken. */
export function runCapture(client: Client, spec: CaptureSpec, ready: () => void = () => {}): CaptureResult {
  const pool = client.pool;
  const source = openSource(pool, spec, client.epoch);
  ready();
  const spare = new Int32Array(BATCH);
  const full = new Int32Array(BATCH);
  let classifier = new PacketClassifier(spec.classifier);
  let captured = 0;
  let kernelDrops = 0;
  let reads = 0;
  const countDrops = () => {
    const dropped = source.drops();
    client.dropCaptured(dropped);
    kernelDrops += dropped;
  };
  try {
    while (!client.stopRequested) {
      for (let m = receiveMessageOnPort(spec.updates); m !== undefined; m = receiveMessageOnPort(spec.updates)) {
        classifier = new PacketClassifier(m.message as ClassifierConfig);
      }
      // Every frame the arbiter has returned goes back to the source to receive into.
      for (let room = source.room; room > 0; ) {
        const got = client.takeFrames(spare, room);
        if (got === 0) break;
        source.give(spare, got);
        room -= got;
      }
      if (source.stocked === 0) {
        client.flush();
        client.waitForFrames(POLL_MS);
        continue;
      }
      const n = source.read(full, POLL_MS);
      if (n === ENETDOWN || n === ENXIO) break; // the capture pair is gone: the device was given back
      if (n < 0) throw new PspatError('ERR_PSPAT_CAPTURE', `capture on ${spec.ifname}: read failed (${errnoName(n)})`);
      let unused = 0;
      for (let i = 0; i < n; i++) {
        const f = full[i];
        const len = pool.len[f];
        const off = pool.offsetOf(f);
        captured++;
        if (len > pool.frameSize) {
          client.dropOversize();
          full[unused++] = f; // given back below
          continue;
        }
        const cls = classifier.slotFor(pool.bytes, off, len);
        if (cls < 0) {
          client.dropUnclassified();
          full[unused++] = f;
          continue;
        }
        // A full mailbox holds the capture back (the source's buffer absorbs, then the
        // kernel counts its drops): the packet waits here, it is not lost.
        const flow = classifier.flows.hash(pool.bytes, off, len);
        // A ringed frame's delay in pspat began when it was diverted, not when it is published.
        const at = source.stampsDiverted ? pool.sentAt[f] : -1;
        while (!client.send(f, len, cls, flow, classifier.lastPolice, classifier.lastSub, at) && !client.stopRequested) client.waitForFrames(1);
      }
      source.give(full, unused);
      client.flush();
      if (++reads % DROPS_EVERY === 0) countDrops();
    }
    while (client.pending > 0 && client.flush() === 0) client.waitForFrames(1);
    countDrops();
  } finally {
    source.close();
  }
  return { captured, kernelDrops };
}
