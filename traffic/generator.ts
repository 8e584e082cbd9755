/**
 * A saturating traffic generator: takes every frame it owns, writes a test packet into
 * it (random size and class from the spec), sends it, and repeats until stopped. It is
 * what the demo and the benchmarks run in each client worker.
 *
 * Frames are written in place (zero copy): only headers and tag per packet; the payload
 * keeps whatever bytes the frame held. When it has no frames left, or the mailbox is
 * full, the generator parks on its free ring's doorbell (so idle clients never spin on a
 * 2-core machine) and the arbiter's recycling wakes it.
 */
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { Client } from '../src/client/client.js';
import { Rng } from '../src/random.js';
import { FlowHasher } from '../src/tc/flow-hash.js';
import { PacketClassifier, type ClassifierConfig } from '../src/tc/packet-classifier.js';
import { fillPayload, writeStamp, writeTestFrame } from './packet.js';
import { SendPacer } from './send-pacer.js';

export interface GeneratorSpec {
  /** Class slots to send to, chosen uniformly per packet (unless `classifier` picks them). */
  classes: number[];
  /** UDP destination ports, one chosen uniformly per packet. @default [9] */
  ports?: number[];
  /**
   * Classify each packet with the device's tc filters, as a capture client would, instead
   * of picking from `classes`. New configurations arrive on `updates` (checked every batch).
   */
  classifier?: ClassifierConfig;
  updates?: MessagePort;
  /** Smallest and largest frame length in bytes (uniform). */
  minSize: number;
  maxSize: number;
  /** Stop after this many packets (Infinity: until the host asks). */
  packets: number;
  seed: number;
  /** Frames taken and sent per batch. @default 32 */
  batch?: number;
  /** Write the payload pattern (`fillPayload` in packet.ts) so a receiver can verify every byte. @default false */
  fillPayload?: boolean;
  /** Write the send time into each frame (`writeStamp` in packet.ts) for one-way delay at a sink. @default false */
  stamp?: boolean;
  /** Take `classes` in turn instead of at random (exact per-class shares offered). @default false */
  cycle?: boolean;
  /** Offer this many packets per second (send-pacer.ts); 0 or absent: as fast as frames come back. */
  pps?: number;
}

export interface GeneratorResult {
  sent: number;
  /** Packets no class took (classifier mode), dropped before sending. */
  unclassified: number;
  /** Sends refused for a full mailbox (the frames were kept and retried). */
  refused: number;
  /** Frames it still held when it stopped (taken, not handed over): with the free ring's, all its frames. */
  held: number;
}

export function runGenerator(client: Client, spec: GeneratorSpec): GeneratorResult {
  const rng = new Rng(spec.seed);
  const batch = spec.batch ?? 32;
  const frames = new Int32Array(batch);
  /** The turn's frames' lengths and picked classes, between building and handing over. */
  const lens = new Int32Array(batch);
  const picked = new Int32Array(batch);
  const bytes = client.pool.bytes;
  const pool = client.pool;
  const classes = Int32Array.from(spec.classes);
  const ports = Int32Array.from(spec.ports ?? [9]);
  let classifier = spec.classifier ? new PacketClassifier(spec.classifier) : null;
  /** Without a device's classifier (demo, benchmarks): the fixed key, so runs repeat. */
  const fixedFlows = new FlowHasher();
  let seq = 0;
  let refused = 0;
  let unclassified = 0;
  let have = 0;
  let turn = 0;
  const pacer = spec.pps ? new SendPacer(spec.pps) : null;
  // Flat out, having no frame is the normal state: park for a batch of them, so the arbiter
  // wakes this thread once per batch rather than every pass. Paced, it means the arbiter
  // fell behind: resume with the first frame back, not in a burst of a batch.
  const wakeFor = pacer ? 1 : client.wakeBatch;
  while (seq < spec.packets && !client.stopRequested) {
    if (spec.updates) {
      // The newest configuration wins; older ones queued behind it are stale.
      for (let m = receiveMessageOnPort(spec.updates); m !== undefined; m = receiveMessageOnPort(spec.updates)) {
        classifier = new PacketClassifier(m.message as ClassifierConfig);
      }
    }
    let allowed = Math.min(batch, spec.packets - seq);
    if (pacer) {
      const t = client.now();
      allowed = Math.min(allowed, pacer.due(t));
      if (allowed === 0) {
        client.flush();
        pacer.waitNext(t);
        continue;
      }
    }
    if (have === 0) {
      have = client.takeFrames(frames, allowed);
      if (have === 0) {
        client.flush();
        client.waitForFrames(1, wakeFor);
        continue;
      }
    }
    const upTo = Math.min(have, allowed);
    // The turn's frames are built first, then stamped and handed over: the stamp is taken
    // where the raw and tc senders take theirs (src/bench/port-sender.ts), right before the
    // hand-over, so no frame's delay includes building the frames after it. Classifying is
    // part of the hand-over, as the kernel's filters are part of its send.
    for (let k = 0; k < upTo; k++) {
      const len = spec.minSize === spec.maxSize ? spec.minSize : rng.int(spec.minSize, spec.maxSize);
      const port = ports.length === 1 ? ports[0] : ports[rng.nextU32() % ports.length];
      const cls = classifier !== null ? 0 : spec.cycle ? classes[turn++ % classes.length] : classes[rng.nextU32() % classes.length];
      const off = pool.offsetOf(frames[k]);
      writeTestFrame(bytes, off, len, client.id, cls, seq + k, port);
      if (spec.fillPayload) fillPayload(bytes, off, len, seq + k);
      lens[k] = len;
      picked[k] = cls;
    }
    const stampAt = spec.stamp && !spec.fillPayload ? client.now() : -1;
    let kept = 0; // frames not handed over, moved to the front for the next turn
    let made = 0; // packets made this turn: sent, or dropped as unclassified
    for (; made < upTo; made++) {
      const f = frames[made];
      const off = pool.offsetOf(f);
      const len = lens[made];
      if (stampAt >= 0) writeStamp(bytes, off, stampAt);
      let cls = picked[made];
      if (classifier !== null) {
        cls = classifier.slotFor(bytes, off, len);
        if (cls < 0) {
          // No class takes it (drr/qfq with no matching filter): dropped here, its frame kept.
          client.dropUnclassified();
          unclassified++;
          seq++;
          frames[kept++] = f;
          continue;
        }
      }
      const police = classifier === null ? -1 : classifier.lastPolice;
      const sub = classifier === null ? 0 : classifier.lastSub;
      const flow = (classifier?.flows ?? fixedFlows).hash(bytes, off, len);
      if (!client.send(f, len, cls, flow, police, sub)) {
        refused++;
        break;
      }
      seq++;
    }
    client.flush();
    pacer?.took(made);
    // Mailbox full, or the pacer's allowance spent: the unsent frames go first next turn (built again then).
    for (let k = made; k < have; k++) frames[kept++] = frames[k];
    have = kept;
    if (made < upTo) client.waitForFrames(1); // refused: wait for the arbiter to make progress
  }
  // Whatever is still staged goes out, waiting for room as long as the host allows.
  while (client.pending > 0 && client.flush() === 0 && !client.stopRequested) client.waitForFrames(1);
  return { sent: seq - unclassified - client.pending, refused, unclassified, held: have + client.pending };
}
