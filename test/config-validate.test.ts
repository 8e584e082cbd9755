/**
 * `pspat config validate FILE`: a configuration checked as `pspat daemon --config` would
 * check it — its options and every device's tc commands — with nothing started.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pspat } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'pspat-validate-'));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('pspat config validate', () => {
  it('says a good file is valid, counting its devices and commands', async () => {
    const f = file('good.yaml', 'version: 1\ndaemon:\n  maxClasses: 64\n  fail: closed\ndevices:\n  vethx:\n    - "qdisc add dev vethx root handle 1: htb default 20"\n    - "class add dev vethx parent 1: classid 1:20 htb rate 30mbit"\n');
    expect(await pspat(['config', 'validate', f])).toEqual({ code: 0, stdout: `${f}: valid (1 device, 2 tc commands)\n`, stderr: '' });
  });

  it('refuses a bad option, a bad tc command and a command the daemon would refuse, each in one line naming where', async () => {
    for (const [name, text, msg] of [
      ['option.yaml', 'version: 1\ndaemon:\n  fail: maybe\n', `daemon: fail: must be open or closed, got "maybe"`],
      ['grammar.yaml', 'version: 1\ndevices:\n  vethx:\n    - "qdisc add dev vethx root handle 1: htb"\n    - "class add dev vethx parent 1: classid 1:10 htb rate 30mbit quantom 5"\n', 'devices.vethx[1]: What is "quantom"?'],
      ['order.yaml', 'version: 1\ndevices:\n  vethx:\n    - "class add dev vethx parent 1: classid 1:10 htb rate 30mbit"\n', 'devices.vethx[0]: not a pspat command (vethx is not managed by pspat)'],
    ] as const) {
      const f = file(name, text);
      expect(await pspat(['config', 'validate', f]), name).toEqual({ code: 1, stdout: '', stderr: `pspat: ${f}: ${msg}\n` });
    }
  });
});
