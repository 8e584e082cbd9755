/**
 * A sender straight on a transmit port, without pspat: the `raw` mode of `bench e2e` (the
 * backend alone, qdisc bypassed) and the `tc` mode (AF_PACKET through the device's qdisc,
 * the fastest kernel path that still traverses it). Frames are written once, classes in
 * turn (UDP source port 10000 + class, which the tc mode's u32 filters match); per batch
 * only the send stamp is rewritten when the run measures delay. Flat out, or paced.
 */
import { SendPacer } from '../../traffic/send-pacer.js';
import { writeStamp, writeTestFrame } from '../../traffic/packet.js';
import { makeClock, type ClockEpoch } from '../clock.js';
import { ARBITER_DEFAULTS } from '../options.js';
import { FramePool } from '../shm/frame-pool.js';
import { NativePort, type XdpMode } from '../transmit/native-port.js';
import { nativeAddon } from '../transmit/native.js';
import type { NativeBackend } from '../transmit/ports.js';

export interface PortSenderSpec {
  backend: NativeBackend;
  dev: string;
  xdpMode: XdpMode;
  qdiscBypass: boolean;
  /** AF_XDP queue (one per sender thread). */
  queue: number;
  size: number;
  classes: number;
  /** Packets per second; 0: as fast as the port takes them. */
  pps: number;
  stamp: boolean;
  epoch: ClockEpoch;
  /** Where the sender thread runs (the same CPUs pspat's threads get). */
  placement: ThreadPlacement;
}

import type { ThreadPlacement } from '../placement.js';

const FRAMES = 4096;
const BATCH = 256;

/** Sends until `stop[0]` becomes non-zero; returns the packets the port accepted. */
export function runPortSender(spec: PortSenderSpec, stop: Int32Array): number {
  const addon = nativeAddon();
  const now = makeClock(spec.epoch);
  const pool = new FramePool(FramePool.allocate(FRAMES, ARBITER_DEFAULTS.frameSize, (u8) => addon.pageOffset(u8)));
  for (let f = 0; f < FRAMES; f++) {
    writeTestFrame(pool.bytes, pool.offsetOf(f), spec.size, 0, f % spec.classes, f);
    pool.len[f] = spec.size;
  }
  const port = new NativePort({ backend: spec.backend, dev: spec.dev, queue: spec.queue, xdpMode: spec.xdpMode, qdiscBypass: spec.qdiscBypass }, pool, BATCH);
  const pacer = spec.pps > 0 ? new SendPacer(spec.pps) : null;
  // Frames go out in index order, so classes stay in turn: a ring of free frames.
  const free = Int32Array.from({ length: FRAMES }, (_, i) => i);
  let head = 0;
  let count = FRAMES;
  const out = new Int32Array(BATCH);
  const done = new Int32Array(BATCH);
  const status = new Int32Array(BATCH);
  let sent = 0;
  try {
    for (let i = 0; ; i++) {
      let n = Math.min(BATCH, count);
      if (pacer) {
        const t = now();
        n = Math.min(n, pacer.due(t));
        if (n === 0 && port.inFlight === 0) pacer.waitNext(t);
      }
      for (let k = 0; k < n; k++) out[k] = free[(head + k) % FRAMES];
      if (spec.stamp && n > 0) {
        const t = now();
        for (let k = 0; k < n; k++) writeStamp(pool.bytes, pool.offsetOf(out[k]), t);
      }
      const accepted = n > 0 ? port.submit(out, n) : 0;
      head = (head + accepted) % FRAMES;
      count -= accepted;
      sent += accepted;
      pacer?.took(accepted);
      const r = port.reap(done, status, BATCH);
      for (let k = 0; k < r; k++) free[(head + count + k) % FRAMES] = done[k];
      count += r;
      if ((i & 255) === 0 && Atomics.load(stop, 0) !== 0) break;
    }
  } finally {
    port.close();
  }
  return sent;
}
