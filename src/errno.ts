/**
 * Errors as the kernel numbers them: the addon returns −errno, and callers act on a few
 * and name the rest. Apart from the addon's loader, so code that only reads results (the
 * stats, the capture loop) does not import it.
 */
import { constants as osConstants } from 'node:os';

/** The negative errno values the addon returns that callers act on. */
export const ENXIO = -osConstants.errno.ENXIO;
export const ENODEV = -osConstants.errno.ENODEV;
export const ENETDOWN = -osConstants.errno.ENETDOWN;
export const ETIMEDOUT = -osConstants.errno.ETIMEDOUT;
/** Also: a transmit worker died, its link's port stays faulted with this (tx-worker.ts). */
export const EPIPE = -osConstants.errno.EPIPE;

const errnoNames = Object.fromEntries(Object.entries(osConstants.errno).map(([k, v]) => [v, k]));

/** `-errno` → its name (EPERM, ENODEV, ...). */
export function errnoName(negErrno: number): string {
  return errnoNames[-negErrno] ?? `errno ${-negErrno}`;
}
