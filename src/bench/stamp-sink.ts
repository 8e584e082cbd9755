/**
 * One-way delay at a sink on the far end of the veth (inside the sink namespace): for each
 * stamped test frame, its class, the sender's stamp and the kernel's arrival time on the
 * shared clock; each delay goes into the class's `e2e` histogram. The kernel stamps on
 * arrival, so draining every few milliseconds measures what draining at once would.
 *
 * The sink is an XDP program (native/bpf/sink.bpf.c) that stamps, records and drops, where
 * it loads: veth runs its peer's receive path on the sending CPU, and a full receive path
 * (an AF_PACKET socket, the fallback) there costs the sender, or pspat's arbiter, microseconds
 * a packet that the far end of a real link would spend on another machine. Frames lost
 * before the sink read them are simply not sampled: `stamped` says how many were.
 */
import { existsSync } from 'node:fs';
import type { ClockEpoch } from '../clock.js';
import { STAMP_OFFSET, TAG_OFFSET } from '../../traffic/packet.js';
import { PspatError } from '../errors.js';
import { Histogram } from '../stats/histogram.js';
import { nativeAddon, nativeBuildFile, type NativeAddon } from '../transmit/native.js';

const BATCH = 1024;
const POLL_MS = 5;
/** Batches one poll reads at most (a few milliseconds' worth at the rates here). */
const MAX_READS = 16;

export class StampSink {
  private readonly addon: NativeAddon;
  private readonly handle: number;
  private readonly cls = new Int32Array(BATCH);
  private readonly sent = new Float64Array(BATCH);
  private readonly arrived = new Float64Array(BATCH);
  private timer: NodeJS.Timeout | null = null;
  /** Per class (the tag's class field): one-way delay, ns. */
  readonly e2e = new Map<number, Histogram>();
  stamped = 0;
  /**
   * The measured window on the shared clock: frames that arrived in [from, until) are
   * sampled, the others read and discarded (a warm-up, or what arrived after). By arrival,
   * not by when they are read: a frame held up just before the window opens (a stall while
   * the bench spawns `ip`) and read inside it is not the window's.
   */
  from = -Infinity;
  until = Infinity;

  /** Opens the sink on `ifname` inside network namespace `ns` ('' for this one); `xdp` false: the AF_PACKET sink. */
  constructor(ns: string, ifname: string, epoch: ClockEpoch, xdp = true) {
    this.addon = nativeAddon();
    const xdpObject = xdp && existsSync(nativeBuildFile('sink.bpf.o')) ? nativeBuildFile('sink.bpf.o') : '';
    const h = this.addon.stampSinkOpen(ns === '' ? '' : `/run/netns/${ns}`, ifname, epoch, xdpObject, STAMP_OFFSET, TAG_OFFSET);
    if (h < 0) throw new PspatError('ERR_PSPAT_SINK', `cannot open a timestamping sink on ${ifname}${ns ? ` in namespace ${ns}` : ''}: errno ${-h}`);
    this.handle = h;
    this.kind = this.addon.stampSinkIsXdp(h) ? 'xdp' : 'packet';
  }

  /** How arrivals are stamped: the XDP program, or an AF_PACKET socket. */
  readonly kind: 'xdp' | 'packet';

  /**
   * Drains what arrived so far, at most MAX_READS batches: a sink that shares its CPU with
   * the receive path of a flood never catches up, and must still give the event loop back
   * (the phase's timers run there). Returns how many stamped frames it read.
   */
  poll(): number {
    let total = 0;
    for (let reads = 0; reads < MAX_READS; reads++) {
      const n = this.addon.stampSinkRead(this.handle, this.cls, this.sent, this.arrived);
      if (n < 0) throw new PspatError('ERR_PSPAT_SINK', `timestamping sink: read failed, errno ${-n}`);
      for (let i = 0; i < n; i++) {
        if (!(this.arrived[i] >= this.from && this.arrived[i] < this.until)) continue;
        let h = this.e2e.get(this.cls[i]);
        if (h === undefined) {
          h = new Histogram();
          this.e2e.set(this.cls[i], h);
        }
        h.record(this.arrived[i] - this.sent[i]);
        this.stamped++;
      }
      total += n;
      if (n < BATCH) break;
    }
    return total;
  }

  /** Polls every few milliseconds from the event loop until `close`. */
  start(): void {
    this.timer ??= setInterval(() => this.poll(), POLL_MS);
  }

  /** Frames the socket saw, stamped test frames or not. */
  get received(): number {
    return this.addon.stampSinkReceived(this.handle);
  }

  /** A last drain, then closes the socket. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.poll();
    this.addon.stampSinkClose(this.handle);
  }
}
