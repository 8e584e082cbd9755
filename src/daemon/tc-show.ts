/**
 * `pspat tc … show` of the managed devices: their trees in tc's layout (src/tc/show.ts),
 * with `-s` figures from each link — root classes from the arbiter's counters, an inner
 * qdisc's classes from its scheduler's, rate lines from the daemon's estimators.
 */
import type { ClassXstats } from '../../schedulers/types.js';
import type { ParsedTc, ShowCommand, TcReply } from '../tc/model.js';
import { showClasses, showFilters, showQdiscs, type InnerStatsBySlot, type SlotStats } from '../tc/show.js';
import type { ManagedDevice } from './managed-device.js';
import type { RateEstimator } from './rate-estimator.js';

function rateOf(est: RateEstimator, key: string): Pick<SlotStats, 'rateBps' | 'pps'> {
  const r = est.rate(key);
  return { rateBps: r.bps, pps: r.pps };
}

/** htb's counters among a scheduler's xstats, as `-s` prints them. */
function xstatsOf(x: ClassXstats | null): Pick<SlotStats, 'overlimits' | 'lends' | 'borrows' | 'tokens' | 'ctokens'> {
  const num = (k: string) => (x && typeof x[k] === 'number' ? (x[k] as number) : undefined);
  return { overlimits: num('overlimits') ?? 0, lends: num('lends'), borrows: num('borrows'), tokens: num('tokens'), ctokens: num('ctokens') };
}

/** `-s` figures: root classes from the arbiter's counters, inner qdiscs' classes from their schedulers'. */
async function slotStats(d: ManagedDevice): Promise<{ root: Map<number, SlotStats>; inner: InnerStatsBySlot }> {
  const s = await d.link.stats({ histograms: false });
  const root = new Map<number, SlotStats>();
  const inner = new Map<number, Map<number, SlotStats>>();
  for (const c of s.classes) {
    root.set(c.slot, {
      bytes: c.sentBytes,
      packets: c.sentPackets,
      drops: c.droppedPackets,
      backlogBytes: c.backlogBytes,
      backlogPackets: c.backlogPackets,
      ...rateOf(d.rates, String(c.slot)),
      ...xstatsOf(c.xstats),
    });
    if (c.inner) {
      inner.set(
        c.slot,
        new Map(
          c.inner.map((i) => [
            i.slot,
            {
              bytes: i.bytes,
              packets: i.packets,
              drops: i.drops,
              backlogBytes: i.backlogBytes,
              backlogPackets: i.backlogPackets,
              ...rateOf(d.rates, `${c.slot}/${i.slot}`),
              ...xstatsOf(i.xstats),
            },
          ]),
        ),
      );
    }
  }
  return { root, inner };
}

/** The show command over `devices` (one named, or all); a device pspat does not manage is the system's tc's. */
export async function showDevices(devices: ReadonlyMap<string, ManagedDevice>, cmd: ShowCommand, parsed: ParsedTc): Promise<TcReply> {
  const devs = cmd.dev === undefined ? [...devices.keys()] : [cmd.dev];
  if (cmd.dev !== undefined && !devices.has(cmd.dev)) return { passthrough: true, reason: `${cmd.dev} is not managed by pspat` };
  const out: (string | object[])[] = [];
  for (const dev of devs) {
    const d = devices.get(dev)!;
    const { root: stats, inner } = parsed.flags.stats ? await slotStats(d) : { root: new Map<number, SlotStats>(), inner: new Map() };
    if (cmd.object === 'qdisc') out.push(showQdiscs(d.tree, parsed.flags, stats, cmd.dev === undefined));
    else if (cmd.object === 'class') out.push(showClasses(d.tree, parsed.flags, stats, cmd.classid, inner));
    else out.push(showFilters(d.tree, parsed.flags, cmd));
  }
  const managed = cmd.dev === undefined ? { managed: devs } : {};
  if (parsed.flags.json) {
    const all = out.flat() as object[];
    return { exitCode: 0, stdout: `${JSON.stringify(all, null, parsed.flags.pretty ? 4 : undefined)}\n`, stderr: '', ...managed };
  }
  const text = (out as string[]).filter((t) => t !== '').join('\n');
  return { exitCode: 0, stdout: text === '' ? '' : `${text}\n`, stderr: '', ...managed };
}
