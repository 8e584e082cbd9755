/**
 * The files in examples/ that people copy: the systemd unit is valid for systemd, and
 * every pspat flag it uses is one the command has.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { pspat } from './helpers/cli.js';

const unit = fileURLToPath(new URL('../examples/pspat.service', import.meta.url));
const hasSystemd = spawnSync('systemd-analyze', ['--version']).status === 0;

describe('examples/pspat.service', () => {
  // .ci/run installs systemd (for systemd-analyze); elsewhere say why this does not run.
  it.skipIf(!hasSystemd)('passes systemd-analyze verify without a word', () => {
    const r = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
    expect([r.status, r.stdout + r.stderr]).toEqual([0, '']);
  });

  it('runs pspat commands with flags they have', async () => {
    const lines = readFileSync(unit, 'utf8').split('\n').filter((l) => /^Exec\w*=/.test(l));
    expect(lines.length).toBeGreaterThanOrEqual(2);
    for (const line of lines) {
      const [, command, args] = /pspat (\w+)(.*)$/.exec(line)!;
      const help = (await pspat([command, '--help'])).stdout;
      for (const flag of args.match(/--[a-z-]+/g) ?? []) expect(help, `${command} ${flag}`).toMatch(new RegExp(`^\\s+${flag}\\b`, 'm'));
    }
  });
});

