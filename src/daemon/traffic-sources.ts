/**
 * A managed device's traffic sources: the capture clients of a device whose egress pspat
 * takes over (the capture pair, the clients listening on it, then the redirect:
 * src/attach/), and the test-traffic generators; and stopping them, giving a taken-over
 * device back first.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { startGenerators } from '../../traffic/generators.js';
import { startClientWorkers, type ClientFleet } from '../client/workers.js';
import type { LinkHandle } from '../arbiter/host.js';
import { AttachError, captureNetns, detach, prepareCapture, redirect, removeCapture, unredirect } from '../attach/attach.js';
import type { CaptureResult, CaptureSpec } from '../client/capture.js';
import { attachCaptureProgram, type CaptureProgram } from '../attach/capture-program.js';
import { closeCaptureRings, createCaptureRings, DivertState, ringCaptureRefused, type CaptureRings, type DivertFds } from '../attach/divert.js';
import { nextPow2 } from '../shm/spsc-ring.js';
import type { ClassifierConfig } from '../tc/packet-classifier.js';
import type { TcTree } from '../tc/tree.js';
import { nativeAddon } from '../transmit/native.js';
import { isNativeBackend } from '../transmit/ports.js';
import { workerUrl } from '../worker-url.js';
import type { Capture, ClientSource, ManagedDevice } from './managed-device.js';
import { DEFAULT_TEST_FRAME, type ResolvedDaemonOptions } from './options.js';

/** What the sources need of the daemon. */
export interface SourceContext {
  options: ResolvedDaemonOptions;
  /** What a device's client threads classify its packets by. */
  classifier(tree: TcTree): ClassifierConfig;
  /** A capture client of `dev` failed after the takeover (`fleet`: the clients it was one of). */
  lost(dev: string, fleet: ClientFleet<unknown>, e: Error): void;
}

/**
 * Takes over `dev`'s egress when the daemon transmits on real devices: the capture pair
 * first, the capture clients listening on it, then the redirect (src/attach/attach.ts).
 */
export async function startCapture(ctx: SourceContext, dev: string, link: LinkHandle, tree: TcTree): Promise<Capture | undefined> {
  const options = ctx.options;
  if (!options.attach || !isNativeBackend(options.backend)) return undefined;
  const n = options.captureThreads;
  const state = prepareCapture(dev, options.runDir, n);
  const updates: MessagePort[] = [];
  let fleet: ClientFleet<CaptureResult> | undefined;
  let fds: DivertFds | undefined;
  /** The capture threads' rings, until the diversion program holds them (the threads have their own descriptors). */
  let rings: CaptureRings | undefined;
  /** The capture program's socket map, until every capture socket has put itself in it. */
  let mapFd = -1;
  try {
    const classifier = ctx.classifier(tree);
    const program: CaptureProgram | null = options.capture === 'packet' ? null : attachCaptureProgram(state.capturePeer);
    const noXdp = program !== null && 'why' in program ? program.why : null;
    if (program !== null && 'mapFd' in program) mapFd = program.mapFd;
    if (noXdp !== null && (options.capture === 'xdp' || options.capture === 'ring')) throw new AttachError(`${dev}: XDP capture: ${noXdp}`);
    const xsk = mapFd >= 0 ? { mapFd, ringSize: nextPow2(options.captureFrames) } : null;
    // Rings ride on XDP capture: the capture pair's sockets take what a ring cannot carry.
    /** Why the device has no capture rings where it might (`auto` then captures by XDP alone), or null. */
    let noRings: string | null = null;
    // `--capture ring` insists: the device is refused rather than captured another way.
    const insistOnRings = () => {
      if (noRings !== null && options.capture === 'ring') throw new AttachError(`${dev}: ring capture: ${noRings}`);
    };
    if (xsk !== null && options.capture !== 'xdp') {
      try {
        noRings = ringCaptureRefused();
        if (noRings === null) rings = createCaptureRings(n);
      } catch (e) {
        noRings = (e as Error).message;
      }
      insistOnRings();
    }
    const group = n > 1 ? (process.pid ^ Number(state.capture.slice(3))) & 0xffff || 1 : 0;
    fleet = await startClientWorkers<CaptureSpec, CaptureResult>(
      link,
      n,
      workerUrl('../client/capture-worker.js', import.meta.url),
      'capture client',
      (i) => {
        const { port1, port2 } = new MessageChannel();
        updates.push(port1);
        const ring = rings ? { fd: rings.fds[i], drops: rings.drops, index: i } : null;
        return { ifname: state.capturePeer, netns: `/run/netns/${captureNetns()}`, xsk: xsk && { ...xsk, queue: i }, ring, group, classifier, updates: port2 };
      },
      options.captureFrames,
      true,
    );
    // Every capture socket open before anything is diverted to them: a refused one fails the takeover here.
    await fleet.started;
    // The sockets are in the map now, which the attached program holds.
    if (mapFd >= 0) nativeAddon().closeFd(mapFd);
    mapFd = -1;
    const started = fleet;
    // A capture client that fails later leaves the device unserved: the daemon stops, giving it back.
    fleet.done.catch((e: Error) => ctx.lost(dev, started, e));
    fds = redirect(state, options.runDir, { mode: options.fail, staleMs: options.failOpenAfterMs }, rings);
    noRings ??= fds.noRings;
    insistOnRings();
    const how =
      rings !== undefined && noRings === null
        ? 'ring in the sender (super-packets by XDP)'
        : xsk !== null
          ? `XDP into the frame pool${noRings === null ? '' : ` (ring: ${noRings})`}`
          : noXdp === null
            ? 'packet socket'
            : `packet socket (XDP: ${noXdp})`;
    process.stderr.write(`pspat daemon: ${dev}: capture by ${how}, ${n} thread${n > 1 ? 's' : ''}\n`);
    if (rings) closeCaptureRings(rings);
    rings = undefined;
    let divert: DivertState;
    try {
      divert = new DivertState(fds.state);
      await link.heartbeat(fds.state);
    } finally {
      nativeAddon().closeFd(fds.state);
    }
    return { fleet, updates, state, divert, alive: fds.alive };
  } catch (e) {
    detach(state, options.runDir);
    if (fds) nativeAddon().closeFd(fds.alive);
    if (mapFd >= 0) nativeAddon().closeFd(mapFd);
    if (rings) closeCaptureRings(rings);
    await fleet?.stop().catch(() => fleet?.terminate());
    throw e;
  }
}

export async function startTraffic(ctx: SourceContext, dev: string, link: LinkHandle, tree: TcTree): Promise<ClientSource | undefined> {
  const t = ctx.options.testTraffic[dev];
  if (!t) return undefined;
  const updates: MessagePort[] = [];
  const size = t.size ?? DEFAULT_TEST_FRAME;
  const classifier = ctx.classifier(tree);
  const fleet = await startGenerators(link, t.ports.length, (i) => {
    const { port1, port2 } = new MessageChannel();
    updates.push(port1);
    return { classes: [0], ports: [t.ports[i]], minSize: size, maxSize: size, packets: Infinity, seed: i + 1, classifier, updates: port2 };
  });
  await fleet.started;
  return { fleet, updates };
}

/**
 * Gives an attached device back (its traffic takes the kernel's path again), then stops
 * the device's client threads, which send what they still hold, and closes their ports.
 */
export async function stopSources(runDir: string, d: ManagedDevice): Promise<void> {
  if (d.capture) {
    unredirect(d.capture.state);
    nativeAddon().closeFd(d.capture.alive);
    await d.link.heartbeat(-1);
  }
  for (const source of [d.capture, d.traffic]) {
    if (!source) continue;
    await source.fleet.stop().catch(() => source.fleet.terminate());
    for (const p of source.updates) p.close();
  }
  if (d.capture) removeCapture(d.capture.state, runDir);
}

/** Stops a device's client threads and lets go of their clients (before the link goes). */
export async function stopTraffic(runDir: string, d: ManagedDevice): Promise<void> {
  if (!d.traffic && !d.capture) return;
  await stopSources(runDir, d);
  await d.link.detachClients();
}
