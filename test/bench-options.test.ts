/**
 * The bench scripts' options (bench/options.ts): values as given, a value that starts with
 * dashes kept whole, --help listing them, and an unknown or incomplete option refused by
 * name before anything runs (the egress bench would otherwise build its namespaces).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { benchOptions } from '../bench/options.js';

const EGRESS = fileURLToPath(new URL('../dist/bench/egress-vs-htb.js', import.meta.url));
const spec = {
  seconds: { default: '3', help: 'seconds per phase' },
  'daemon-flags': { default: '', help: 'more daemon flags' },
  child: { default: '', help: 'internal', flag: true },
};

describe('bench options', () => {
  it('reads values, keeps defaults, and takes a value that starts with dashes whole', () => {
    expect(benchOptions('u', spec, ['--daemon-flags', '--arbiter-priority 50', '--child'])).toEqual({
      seconds: '3',
      'daemon-flags': '--arbiter-priority 50',
      child: 'true',
    });
    expect(benchOptions('u', spec, ['--seconds=5'])).toEqual({ seconds: '5', 'daemon-flags': '', child: '' });
  });

  it('refuses an option the script does not have, one without its value, or too few seconds, naming it (exit 2)', () => {
    const typo = spawnSync(process.execPath, [EGRESS, '--second', '3'], { encoding: 'utf8' });
    expect(typo.status).toBe(2);
    expect(typo.stderr.trim()).toBe("Unknown option '--second' (--help lists the options)");
    const bare = spawnSync(process.execPath, [EGRESS, '--seconds'], { encoding: 'utf8' });
    expect(bare.status).toBe(2);
    expect(bare.stderr).toContain("Option '--seconds <value>' argument missing");
    // Too short for the rates phase's window, which would measure the wrong interval.
    const short = spawnSync(process.execPath, [EGRESS, '--seconds', '1'], { encoding: 'utf8' });
    expect(short.status).toBe(2);
    expect(short.stderr.trim()).toBe("--seconds: at least 2 (the rates phase measures from 1 s to 0.5 s before its end), got '1'");
  });

  it('--help lists every option with its default and exits 0', () => {
    const help = spawnSync(process.execPath, [EGRESS, '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    for (const line of ['--seconds <value>', '(default: 3)', '--modes <value>', '--out <value>', '--daemon-flags <value>']) expect(help.stdout).toContain(line);
  });
});
