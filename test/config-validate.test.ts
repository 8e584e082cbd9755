/**
 * `pspat config validate FILE`: a configuration checked as `pspat daemon --config` would
 * check it — its options and every device's tc commands — with nothing started.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
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
    const f = file(
      'good.yaml',
      'version: 1\ndaemon:\n  maxClasses: 64\n  fail: closed\ndevices:\n  vethx:\n    - "qdisc add dev vethx root handle 1: htb default 20"\n    - "class add dev vethx parent 1: classid 1:20 htb rate 30mbit"\n',
    );
    expect(await pspat(['config', 'validate', f])).toEqual({ code: 0, stdout: `${f}: valid (1 device, 2 tc commands)\n`, stderr: '' });
  });

  it('refuses a bad option, a bad tc command and a command the daemon would refuse, each in one line naming where', async () => {
    for (const [name, text, msg] of [
      ['option.yaml', 'version: 1\ndaemon:\n  fail: maybe\n', `daemon.fail: must be open or closed, got "maybe"`],
      // The JSON Schema (schema/pspat-config.schema.json) holds a file first: types, choices, known fields.
      ['type.yaml', 'version: 1\ndaemon:\n  maxClasses: many\n', `daemon.maxClasses: must be an integer, got "many"`],
      ['unknown.yaml', 'version: 1\ndaemon:\n  maxclasses: 5\n', 'daemon.maxclasses: unknown field (known: '],
      ['list.yaml', 'version: 1\ndevices:\n  eth0: "qdisc add dev eth0 root htb"\n', 'devices.eth0: must be an array, got "qdisc add dev eth0 root htb"'],
      ['range.yaml', 'version: 1\ndaemon:\n  maxClasses: 0\n', 'daemon: max-classes: must be an integer in [1, 1048576], got 0'],
      [
        'grammar.yaml',
        'version: 1\ndevices:\n  vethx:\n    - "qdisc add dev vethx root handle 1: htb"\n    - "class add dev vethx parent 1: classid 1:10 htb rate 30mbit quantom 5"\n',
        'devices.vethx[1]: What is "quantom"?',
      ],
      [
        'order.yaml',
        'version: 1\ndevices:\n  vethx:\n    - "class add dev vethx parent 1: classid 1:10 htb rate 30mbit"\n',
        'devices.vethx[0]: not a pspat command (vethx is not managed by pspat)',
      ],
    ] as const) {
      const f = file(name, text);
      const r = await pspat(['config', 'validate', f]);
      expect([r.code, r.stdout], name).toEqual([1, '']);
      expect(r.stderr, name).toMatch(new RegExp(`^pspat: ${f}: ${msg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*\n$`));
    }
  });

  it('publishes the JSON Schema it checks files with: schema/pspat-config.schema.json is what pspat config schema prints', async () => {
    const published = readFileSync(fileURLToPath(new URL('../schema/pspat-config.schema.json', import.meta.url)), 'utf8');
    const r = await pspat(['config', 'schema']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(published);
    const schema = JSON.parse(published);
    // Every daemon option a file may set is in it, described by its flag where it has one.
    expect(Object.keys(schema.properties.daemon.properties)).toEqual(
      expect.arrayContaining(['backend', 'rates', 'maxClasses', 'devices', 'follow', 'arbiterCpus', 'fail']),
    );
    expect(schema.properties.daemon.properties.backend).toMatchObject({ type: 'string', enum: ['null', 'pcap', 'afxdp', 'afpacket'] });
    expect(schema.properties.daemon.properties.maxClasses.description).toMatch(/^--max-classes <n>: /);
  });
});
