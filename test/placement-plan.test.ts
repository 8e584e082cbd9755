/**
 * The CPU plan (src/placement.ts): which thread goes where by default and when asked, and
 * the errors that name the flag. Pure: the CPU set is passed in.
 */
import { describe, expect, it } from 'vitest';
import { resolveArbiterOptions } from '../src/options.js';
import { describePlan, parseCpuList, planPlacement } from '../src/placement.js';

describe('placement plan', () => {
  it('parses CPU lists as taskset writes them, and names the flag for a bad one', () => {
    expect(parseCpuList('3', 'arbiter-cpus')).toEqual([3]);
    expect(parseCpuList('0-2,5', 'client-cpus')).toEqual([0, 1, 2, 5]);
    expect(() => parseCpuList('1-', 'arbiter-cpus')).toThrow("arbiter-cpus: expected a CPU list such as 3 or 0-2,5, got '1-'");
    expect(() => parseCpuList('3-1', 'tx-cpus')).toThrow("tx-cpus: bad CPU range '3-1' in '3-1'");
  });

  it('pins nothing by default; asked for a CPU, the arbiter has it to itself, polling, and the clients the rest', () => {
    expect(planPlacement({}, 1, [0, 1], true, false)).toEqual({
      arbiters: [{ cpus: [], priority: 0, nice: 0, wait: 'adaptive' }],
      clients: { cpus: [], priority: 0 },
      tx: { cpus: [], priority: 0 },
    });
    const plan = planPlacement({ arbiterCpus: [1] }, 1, [0, 1], true, false);
    expect(plan.arbiters).toEqual([{ cpus: [1], priority: 0, nice: 0, wait: 'poll' }]);
    expect(plan.clients).toEqual({ cpus: [0], priority: 0 });
    expect(plan.tx).toEqual({ cpus: [0], priority: 0 });
    expect(describePlan(plan)).toBe('arbiter 0 on CPU 1 (poll); clients on CPU 0; transmit workers on CPU 0');
  });

  it('an adaptive arbiter spins 200 idle passes before parking, one at real-time priority none, unless told', () => {
    expect(resolveArbiterOptions({}).spinPasses).toBe(200);
    expect(resolveArbiterOptions({ placement: { cpus: [], priority: 50 } }).spinPasses).toBe(0);
    expect(resolveArbiterOptions({ placement: { cpus: [], priority: 50 }, spinPasses: 30 }).spinPasses).toBe(30);
  });

  it('gives two arbiters their two CPUs of four, one each', () => {
    const plan = planPlacement({ arbiterCpus: [3, 2] }, 2, [0, 1, 2, 3], true);
    expect(plan.arbiters.map((a) => a.cpus)).toEqual([[3], [2]]);
    expect(plan.clients.cpus).toEqual([0, 1]);
  });

  it('a real-time arbiter on a CPU of its own parks (RT throttling would stop a polling one 50 ms a second) unless told to poll', () => {
    expect(planPlacement({ arbiterCpus: [1], arbiterPriority: 50 }, 1, [0, 1], true).arbiters[0]).toEqual({
      cpus: [1],
      priority: 50,
      nice: 0,
      wait: 'adaptive',
    });
    expect(planPlacement({ arbiterCpus: [1], arbiterPriority: 50, arbiterWait: 'poll' }, 1, [0, 1], true).arbiters[0].wait).toBe('poll');
  });

  it('gives the arbiters nice −10 where the process may raise priorities (the weight of the senders they serve), as asked otherwise; none under SCHED_FIFO', () => {
    expect(planPlacement({}, 2, [0, 1], true, true).arbiters.map((a) => a.nice)).toEqual([-10, -10]);
    expect(planPlacement({}, 1, [0, 1], true, false).arbiters[0].nice).toBe(0);
    expect(planPlacement({ arbiterNice: 5 }, 1, [0, 1], true, false).arbiters[0].nice).toBe(5);
    expect(planPlacement({ arbiterNice: 0 }, 1, [0, 1], true, true).arbiters[0].nice).toBe(0);
    expect(planPlacement({ arbiterPriority: 50 }, 1, [0, 1], true, true).arbiters[0].nice).toBe(0);
    expect(describePlan(planPlacement({ arbiterCpus: [1] }, 1, [0, 1], true, true))).toBe(
      'arbiter 0 on CPU 1, nice -10 (poll); clients on CPU 0; transmit workers on CPU 0',
    );
    expect(() => planPlacement({ arbiterNice: -21 }, 1, [0, 1], true, true)).toThrow('arbiter-nice: must be an integer in [-20, 19], got -21');
    expect(() => planPlacement({ arbiterNice: -5 }, 1, [0, 1], false)).toThrow('arbiter-nice: a nice value for the arbiters needs the native addon');
  });

  it('pins nothing and parks without an addon to pin with', () => {
    for (const plan of [planPlacement({}, 1, [0], true, false), planPlacement({}, 1, [0, 1], false)]) {
      expect(plan.arbiters).toEqual([{ cpus: [], priority: 0, nice: 0, wait: 'adaptive' }]);
      expect(plan.clients.cpus).toEqual([]);
    }
  });

  it('an arbiter sharing its CPU with clients parks (adaptive) unless told to poll', () => {
    expect(planPlacement({ arbiterCpus: [1], clientCpus: [0, 1] }, 1, [0, 1], true).arbiters[0].wait).toBe('adaptive');
    expect(planPlacement({ arbiterCpus: [1], clientCpus: [0, 1], arbiterWait: 'poll' }, 1, [0, 1], true).arbiters[0].wait).toBe('poll');
    expect(planPlacement({ arbiterCpus: [1], arbiterWait: 'adaptive' }, 1, [0, 1], true, false).arbiters[0]).toEqual({
      cpus: [1],
      priority: 0,
      nice: 0,
      wait: 'adaptive',
    });
  });

  it('refuses CPUs the process may not use, a wrong count, a bad priority or wait, naming the flag', () => {
    expect(() => planPlacement({ arbiterCpus: [7] }, 1, [0, 1], true)).toThrow('arbiter-cpus: CPU 7 is not one this process may use (allowed: 0,1)');
    expect(() => planPlacement({ arbiterCpus: [0, 1] }, 1, [0, 1], true)).toThrow('arbiter-cpus: one CPU per arbiter: 1 arbiter, 2 CPUs given');
    expect(() => planPlacement({ arbiterPriority: 100 }, 1, [0, 1], true)).toThrow(
      'arbiter-priority: must be an integer in [0, 99] (0: normal policy), got 100',
    );
    expect(() => planPlacement({ arbiterWait: 'spin' as never }, 1, [0, 1], true)).toThrow("arbiter-wait: must be poll or adaptive, got 'spin'");
    expect(() => planPlacement({ clientCpus: [0] }, 1, [0, 1], false)).toThrow('placing threads needs the native addon');
  });
});
