/** Waiting on another thread's progress by condition, not by a fixed sleep (a loaded machine makes any sleep too short). */
import { setTimeout as sleep } from 'node:timers/promises';

/** Resolves once `cond()` holds; rejects naming `what` after `ms`. */
export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}
