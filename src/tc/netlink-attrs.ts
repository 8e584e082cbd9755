/**
 * Reading the kernel's tc attributes (linux/netlink.h's nlattr, linux/pkt_sched.h's
 * structs): what follow mode's decoder and each kind module (kinds/*.ts `decode`) share
 * to turn a dumped qdisc or class back into the spec `pspat tc` would have built.
 */
import { ticksPerUsec } from './ticks.js';

/** Attributes by type (the last of a type wins, as the kernel reads them), as views into the message. */
export type Attrs = Map<number, DataView>;

/** NLMSG_ALIGN and NLA_ALIGN: messages and attributes start on 4-byte boundaries. */
export const align4 = (n: number) => (n + 3) & ~3;

/** The attributes in `view` (a nested attribute's payload, or what follows a header); none for no view. */
export function parseAttrs(view: DataView | undefined): Attrs {
  const attrs: Attrs = new Map();
  if (view === undefined) return attrs;
  for (let at = 0; at + 4 <= view.byteLength; ) {
    const len = view.getUint16(at, true);
    if (len < 4 || at + len > view.byteLength) break;
    attrs.set(view.getUint16(at + 2, true) & 0x3fff, new DataView(view.buffer, view.byteOffset + at + 4, len - 4));
    at += align4(len);
  }
  return attrs;
}

export function attrString(v: DataView | undefined): string | undefined {
  if (v === undefined) return undefined;
  const bytes = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  const end = bytes.indexOf(0);
  return Buffer.from(bytes.subarray(0, end < 0 ? bytes.length : end)).toString('latin1');
}

export const u32 = (v: DataView | undefined): number | undefined => (v === undefined || v.byteLength < 4 ? undefined : v.getUint32(0, true));
export const u64 = (v: DataView | undefined): number | undefined => (v === undefined || v.byteLength < 8 ? undefined : Number(v.getBigUint64(0, true)));

/** enum tc_link_layer's ATM (a tc_ratespec's linklayer byte). */
export const LINKLAYER_ATM = 2;

/** A struct tc_ratespec at byte `at`: its rate in bytes/s, link layer, overhead and mpu. */
export function ratespec(v: DataView, at: number): { rate: number; linklayer: number; overhead: number; mpu: number } {
  return { linklayer: v.getUint8(at + 1), overhead: v.getUint16(at + 2, true), mpu: v.getUint16(at + 6, true), rate: v.getUint32(at + 8, true) };
}

/**
 * The bytes a burst stored as `ticks` psched ticks at `rateBytes` B/s came from. Unlike
 * tc's show (ticks.ts `xmitSize`), the µs are not truncated: this recovers what the
 * client wrote, so re-applying it stores the same ticks.
 */
export function ticksToBytes(ticks: number, rateBytes: number): number {
  return Math.floor((rateBytes * ticks) / ticksPerUsec() / 1e6);
}

/** Something in the kernel's configuration pspat does not implement (follow mode gives the device back). */
export class UnsupportedConfig extends Error {}

export const unsupported = (what: string): never => {
  throw new UnsupportedConfig(what);
};
