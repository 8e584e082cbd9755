/**
 * Link pacing: the arbiter keeps a virtual clock per link, `linkIdle`, the time the link
 * finishes sending what was released so far. A packet may be released while
 * `linkIdle <= now`; releasing it advances `linkIdle` by the packet's time on the wire.
 * When the scheduler runs dry the clock is pulled up to `now`, so an idle link never
 * accumulates credit for a later burst (PSPAT, §4).
 */

/** Ethernet per-frame overhead not in the frame buffer: preamble+SFD 8, FCS 4, IFG 12. */
export const WIRE_OVERHEAD_BYTES = 24;

/** Nanoseconds a frame of `len` bytes occupies a link of `rateBps` bit/s. */
export function wireTimeNs(len: number, rateBps: number): number {
  return ((len + WIRE_OVERHEAD_BYTES) * 8e9) / rateBps;
}
