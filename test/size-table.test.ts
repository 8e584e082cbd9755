/**
 * Size tables (tc's stab): the kernel's charged-length computation, the table tc builds
 * from the options, and the arbiter charging it — schedulers and queue limits count what
 * the table says a packet costs, not its length.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { SizeTable } from '../schedulers/size-table.js';
import { TcArgs } from '../src/tc/args.js';
import { parseStab, sizeTableParams } from '../src/tc/stab.js';
import { ArbiterHost } from '../src/arbiter/host.js';
import { startGenerators, type GeneratorFleet } from '../traffic/generators.js';
import { endAfterEach, ended } from './helpers/teardown.js';

endAfterEach();

/** The table `tc … stab WORDS` would send. */
function tableOf(words: string): SizeTable {
  return new SizeTable(sizeTableParams(parseStab(new TcArgs(words.split(' ')))));
}

/** What an ATM line carries for `bytes`: whole 48-byte payloads, 53 bytes each. */
const atm = (bytes: number) => Math.ceil(bytes / 48) * 53;

describe('size tables', () => {
  it('an overhead alone is added to every packet, and nothing is charged less than 1 byte', () => {
    const t = tableOf('overhead 24');
    expect([t.charge(64), t.charge(1500)]).toEqual([88, 1524]);
    expect(tableOf('overhead -100').charge(60)).toBe(1);
  });

  it("ATM (sqm's ADSL setting): the overhead, then whole cells; past the table's end, the kernel's whole tables plus the rest", () => {
    const t = tableOf('linklayer adsl overhead 44');
    // Inside the table (mtu 2047): a 64-byte frame is 108 bytes with the overhead, 3 cells.
    for (let len = 60; len + 44 <= 2048; len += 7) expect(t.charge(len), `${len} B`).toBe(atm(len + 44));
    // Past it (slot 512 and on), the kernel charges the last slot per whole table plus the
    // remainder's slot: 2050 bytes cost atm(2048) + atm(4), a cell more than the line's 2279.
    expect(t.charge(2006)).toBe(atm(2048) + atm(4));
    expect(t.charge(3000)).toBe(atm(2048) + atm(996));
  });

  it("an mpu on Ethernet: short packets are charged the mpu, in the table's 4-byte cells (tc's mtu 2047, 512 slots)", () => {
    const t = tableOf('mpu 64');
    expect(t.charge(42)).toBe(64);
    // A slot covers 4 bytes and charges its top: 65..68 bytes cost 68.
    expect([t.charge(65), t.charge(68), t.charge(69)]).toEqual([68, 68, 72]);
  });

  it('the arbiter charges the table: a byte-limited queue holds what the charged sizes fit', async () => {
    // 100-byte frames charged 200 by `overhead 100`: a 1000-byte queue holds 5, not 10.
    // The link is slow (8 kbit/s): after the first frame, nothing leaves during the test.
    const host = ended(await ArbiterHost.start({ poolFrames: 64 }));
    const link = await host.addLink({
      rate: 8000,
      scheduler: 'fifo',
      schedulerParams: { limitBytes: 1000, sizeTable: sizeTableParams(parseStab(new TcArgs(['overhead', '100']))) },
      maxClasses: 1,
      classes: [{}],
    });
    const fleet: GeneratorFleet = ended(await startGenerators(link, 1, () => ({ classes: [0], minSize: 100, maxSize: 100, packets: 20, seed: 1 }), 64));
    await fleet.done;
    // Handed over is not yet drained: wait (the arbiter's own counters) until the mailbox is empty.
    while ((await link.stats({ histograms: false })).inMailboxes > 0) await sleep(5);
    const s = (await host.close({ drain: false }))[0];
    expect(s.inMailboxes).toBe(0);
    const c = s.classes[0];
    const released = c.sentPackets + s.inTransmit;
    expect(c.backlogBytes).toBe(200 * c.backlogPackets);
    // At most one frame leaves (the first, when the clock allows it), before or after the
    // queue filled; either way the queue held 5 at most, where 100-byte lengths fit 10.
    expect(released).toBeLessThanOrEqual(1);
    expect([5, 6]).toContain(c.backlogPackets + released);
    expect(c.drops.queueLimit).toBe(20 - c.backlogPackets - released);
    expect(s.totals.offered).toBe(s.totals.sent + s.totals.dropped + s.totals.queued);
  });
});
