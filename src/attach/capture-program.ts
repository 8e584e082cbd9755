/**
 * The capture pair's XDP program (native/bpf/capture.bpf.c), which hands each receive
 * queue's frames to that queue's AF_XDP capture socket (capture-source.ts), attached to
 * the pair's far end when a device is taken over. It goes with the pair.
 */
import { existsSync } from 'node:fs';
import { nativeAddon, nativeBuildFile } from '../transmit/native.js';
import { errnoName } from '../errno.js';
import { captureNetns } from './attach.js';

export const CAPTURE_MODES = ['auto', 'ring', 'xdp', 'packet'] as const;
export type CaptureMode = (typeof CAPTURE_MODES)[number];

/** The attached program's socket map (a descriptor the capture sockets put themselves in), or why it could not be attached. */
export type CaptureProgram = { mapFd: number } | { why: string };

/** Attaches the capture program to `capturePeer` in the namespace at `netnsPath` (the capture namespace unless said). */
export function attachCaptureProgram(capturePeer: string, netnsPath = `/run/netns/${captureNetns()}`): CaptureProgram {
  const object = nativeBuildFile('capture.bpf.o');
  if (!existsSync(object)) return { why: `${object} is missing (the native build needs clang and libbpf-dev)` };
  const r = nativeAddon().xskCaptureAttach(netnsPath, capturePeer, object);
  if (r.err < 0) return { why: `cannot ${r.step} (${errnoName(r.err)})` };
  return { mapFd: r.mapFd };
}
