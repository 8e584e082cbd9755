import { describe, expect, it } from 'vitest';
import { Client } from '../src/client/client.js';
import { allocateClientCounters, ClientCounters, CLIENT_BACKPRESSURE, CLIENT_INVALID, type ClientChannel } from '../src/client/channel.js';
import { CTL_DOORBELL, CTL_WORDS } from '../src/arbiter/control.js';
import { newEpoch } from '../src/clock.js';
import { FramePool } from '../src/shm/frame-pool.js';
import { SpscRing } from '../src/shm/spsc-ring.js';
import { UNPLACED } from '../src/placement.js';

/** A client channel with no arbiter behind it: nothing drains the mailbox. */
function detachedChannel(frames: number, mailboxSize: number): ClientChannel {
  const pool = FramePool.allocate(frames, 2048);
  const view = new FramePool(pool);
  const free = SpscRing.allocate(frames);
  new SpscRing(free).push(
    Int32Array.from({ length: frames }, (_, i) => i),
    0,
    frames,
  );
  view.owner.fill(0);
  return {
    clientId: 0,
    linkId: 0,
    maxClasses: 2,
    epoch: newEpoch(),
    pool,
    mailbox: SpscRing.allocate(mailboxSize),
    free,
    counters: allocateClientCounters(2),
    arbiterControl: new SharedArrayBuffer(CTL_WORDS * 4),
    doorbellWord: CTL_DOORBELL,
    placement: UNPLACED,
  };
}

describe('client', () => {
  it('refuses sends when the mailbox is full, keeps the frame, and counts backpressure', () => {
    const ch = detachedChannel(16, 4);
    const client = new Client(ch, 2);
    const frames = new Int32Array(16);
    expect(client.takeFrames(frames, 16)).toBe(16);
    const results = [...frames].map((f) => client.send(f, 100, 1));
    // 2 staged + 4 published (mailbox) + the next 2 staged; the rest refused.
    expect(results.filter(Boolean)).toHaveLength(6);
    const counters = new ClientCounters(ch.counters, 2);
    expect(counters.totals[CLIENT_BACKPRESSURE]).toBe(10);
    expect(counters.offeredPackets(1)).toBe(4);
    expect(client.pending).toBe(2);
    expect(client.flush()).toBe(0);
  });

  it('refuses invalid frames without taking them: runt, oversize, bad class, foreign frame', () => {
    const ch = detachedChannel(4, 4);
    const client = new Client(ch);
    new FramePool(ch.pool).owner[3] = 7;
    expect(client.send(0, 13, 0)).toBe(false);
    expect(client.send(0, 2049, 0)).toBe(false);
    expect(client.send(0, 100, 2)).toBe(false);
    expect(client.send(3, 100, 0)).toBe(false);
    expect(client.send(99, 100, 0)).toBe(false);
    expect(new ClientCounters(ch.counters, 2).totals[CLIENT_INVALID]).toBe(5);
    expect(client.send(0, 14, 0)).toBe(true);
  });
});
