/**
 * Host-wide CPU claims (src/cpu-claims.ts): one live holder per CPU, a dead holder's claim
 * taken over, and the default plan's dedicated arbiter CPUs — only on a host big enough,
 * the highest free CPUs first, all or none.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { claimCpu, defaultArbiterCpus, releaseCpus } from '../src/cpu-claims.js';

const CLAIMS = fileURLToPath(new URL('../dist/src/cpu-claims.js', import.meta.url));

describe('CPU claims', () => {
  it("one live process holds a CPU; a dead one's claim is taken over; release gives it back", () => {
    const dir = mkdtempSync(join(tmpdir(), 'pspat-claims-'));
    expect(claimCpu(3, dir)).toBe(true);
    expect(readFileSync(join(dir, 'cpu3'), 'utf8')).toBe(`${process.pid}\n`);
    expect(claimCpu(3, dir)).toBe(true); // already ours
    // Another process cannot claim it while this one lives.
    const other = spawnSync(
      process.execPath,
      ['--input-type=module', '-e', `import { claimCpu } from '${CLAIMS}'; process.stdout.write(String(claimCpu(3, '${dir}')));`],
      { encoding: 'utf8' },
    );
    expect(other.stdout).toBe('false');
    // A claim whose process is gone is stale.
    const dead = Number(execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }));
    writeFileSync(join(dir, 'cpu5'), `${dead}\n`);
    expect(claimCpu(5, dir)).toBe(true);
    releaseCpus();
    const after = spawnSync(
      process.execPath,
      ['--input-type=module', '-e', `import { claimCpu } from '${CLAIMS}'; process.stdout.write(String(claimCpu(3, '${dir}')));`],
      { encoding: 'utf8' },
    );
    expect(after.stdout).toBe('true');
  });

  it('dedicates the highest free CPUs to the arbiters on a host of 4 or more, all or none', () => {
    const taken = new Set<number>();
    const released: number[] = [];
    const claim = (c: number) => !taken.has(c);
    const release = (c: number) => released.push(c);
    const cpus = (n: number) => Array.from({ length: n }, (_, i) => i);
    expect(defaultArbiterCpus(cpus(2), 1, claim, release)).toEqual([]); // a polling thread would take half the host
    expect(defaultArbiterCpus(cpus(8), 1, claim, release)).toEqual([7]);
    expect(defaultArbiterCpus(cpus(4), 2, claim, release)).toEqual([3, 2]);
    expect(defaultArbiterCpus(cpus(4), 3, claim, release)).toEqual([]); // more than half the CPUs
    taken.add(7);
    expect(defaultArbiterCpus(cpus(8), 1, claim, release)).toEqual([6]); // another pspat polls CPU 7
    // Too few free: what was claimed goes back, and the arbiters are not pinned.
    for (const c of [0, 1, 2, 3, 4, 5]) taken.add(c);
    expect(defaultArbiterCpus(cpus(8), 2, claim, release)).toEqual([]);
    expect(released).toEqual([6]);
  });
});
