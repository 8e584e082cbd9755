/**
 * `pspat daemon` and `pspat tc` as a user runs them: tc command lines applied live, tc's
 * exit codes and output, pass-through to the system's tc, the control socket's defences,
 * configuration dump and reload, and a clean stop.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pspat } from './helpers/cli.js';
import { startDaemon, tempRunDir, type RunningDaemon } from './helpers/daemon.js';

const HTB = [
  'qdisc add dev pspat0 root handle 1: htb default 30',
  'class add dev pspat0 parent 1: classid 1:1 htb rate 100mbit burst 15k',
  'class add dev pspat0 parent 1:1 classid 1:10 htb rate 50mbit ceil 100mbit prio 1',
  'class add dev pspat0 parent 1:1 classid 1:30 htb rate 20mbit ceil 50mbit',
  'qdisc add dev pspat0 parent 1:10 handle 10: pfifo limit 50',
  'filter add dev pspat0 protocol ip parent 1:0 prio 1 u32 match ip dport 5001 0xffff flowid 1:10',
];

let d: RunningDaemon;
const tc = (line: string) => {
  process.env.PSPAT_RUN_DIR = d.runDir;
  return pspat(['tc', ...line.split(' ')]);
};

/** Raw lines to the control socket; the replies, one per line sent (or until it closes). */
function raw(path: string, payload: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const c = createConnection(path);
    let got = '';
    c.on('data', (b) => (got += b.toString()));
    c.on('error', reject);
    c.on('close', () => resolve(got.split('\n').filter(Boolean)));
    c.write(payload, () => setTimeout(() => c.end(), 300));
  });
}

describe('pspat daemon + pspat tc', () => {
  beforeAll(async () => {
    d = await startDaemon(['--rate', 'pspat0=100mbit']);
  });
  afterAll(async () => {
    if (d) expect(await d.stop()).toBe(0);
  });

  it('applies an htb script and shows it in tc layout', async () => {
    for (const line of HTB) expect((await tc(line)).code, line).toBe(0);
    const q = await tc('qdisc show dev pspat0');
    // iproute2 prints no space after htb's and pfifo's options (test/tc-testing checks the kernel's).
    expect(q.stdout).toBe('qdisc htb 1: root refcnt 2 r2q 10 default 0x30 direct_packets_stat 0 direct_qlen 1000\nqdisc pfifo 10: parent 1:10 limit 50p\n');
    const c = await tc('-s class show dev pspat0 classid 1:10');
    // No rate line without an estimator, as the kernel's htb classes have none by default.
    expect(c.stdout).toMatch(
      /^class htb 1:10 parent 1:1 leaf 10: prio 1 rate 50Mbit ceil 100Mbit burst 1600b cburst 1600b \n Sent 0 bytes 0 pkt \(dropped 0, overlimits 0 requeues 0\) \n backlog 0b 0p requeues 0\n/,
    );
    // With no device named, each line names its device, as tc's do; the devices pspat does
    // not manage come from the system's tc.
    const all = (await tc('qdisc show')).stdout;
    expect(all).toContain(
      'qdisc htb 1: dev pspat0 root refcnt 2 r2q 10 default 0x30 direct_packets_stat 0 direct_qlen 1000\nqdisc pfifo 10: dev pspat0 parent 1:10 limit 50p\n',
    );
    expect(all).toContain(execFileSync('tc', ['qdisc', 'show', 'dev', 'lo']).toString().replace('0: root', '0: dev lo root'));
    const allJson = JSON.parse((await tc('-j qdisc show')).stdout) as { dev: string; kind: string }[];
    expect(allJson.filter((q) => q.dev === 'pspat0').map((q) => q.kind)).toEqual(['htb', 'pfifo']);
    expect(allJson.some((q) => q.dev === 'lo')).toBe(true);
    const j = JSON.parse((await tc('-j class show dev pspat0')).stdout);
    // In the kernel's class-hash order (class-hash.ts): 1:1 and 1:10 share a bucket, the later first.
    expect(j.map((x: { handle: string }) => x.handle)).toEqual(['1:10', '1:1', '1:30']);
  });

  it('changes a class live; refuses with tc exit codes and changes nothing', async () => {
    expect((await tc('class change dev pspat0 parent 1:1 classid 1:30 htb rate 25mbit ceil 60mbit')).code).toBe(0);
    expect((await tc('class show dev pspat0 classid 1:30')).stdout).toContain('rate 25Mbit ceil 60Mbit');
    const before = (await tc('class show dev pspat0')).stdout;
    const cases: [string, number, string][] = [
      ['class add dev pspat0 parent 1:1 classid 1:10 htb rate 1mbit', 2, 'RTNETLINK answers: File exists'],
      ['class del dev pspat0 classid 1:99', 2, 'Error: Specified class not found.'],
      ['class add dev pspat0 parent 1:1 classid 1:40 htb rate 1mbit prio 9', 1, 'Illegal "prio"'],
      ['class add dev pspat0 parent 1:1 classid 1:zz htb rate 1mbit', 255, 'Error: argument "1:zz" is wrong: invalid class ID'],
      ['qdisc add dev pspat0 root handle 2: drr', 2, 'Error: Exclusivity flag on, cannot modify.'],
    ];
    for (const [line, code, message] of cases) {
      const r = await tc(line);
      expect(r.code, line).toBe(code);
      expect(r.stderr.trim(), line).toBe(message);
    }
    expect((await tc('class show dev pspat0')).stdout).toBe(before);
  });

  it('passes what pspat does not manage to the system tc, output and status preserved', async () => {
    const lo = await tc('qdisc show dev lo');
    expect(lo.code).toBe(0);
    expect(lo.stdout).toBe(execFileSync('tc', ['qdisc', 'show', 'dev', 'lo']).toString());
    const missing = await tc('qdisc show dev nosuchdev0');
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('nosuchdev0');
  });

  it('answers garbage, wrong versions and unknown ops with an error and keeps serving; cuts off an oversized request', async () => {
    const path = join(d.runDir, 'pspat.sock');
    const replies = await raw(path, 'hello\n{"v":2,"op":"ping"}\n{"v":1,"op":"format-disk"}\n[1,2]\n{"v":1,"op":"ping"}\n');
    expect(replies.map((r) => JSON.parse(r))).toEqual([
      { v: 1, ok: false, error: 'bad request: not a JSON object' },
      { v: 1, ok: false, error: 'bad request: protocol version 2 (this daemon speaks 1)' },
      { v: 1, ok: false, error: 'op: bad request: unknown op "format-disk" (known: tc, config, stats, ping)' },
      { v: 1, ok: false, error: 'bad request: not a JSON object' },
      { v: 1, ok: true },
    ]);
    const big = await raw(path, 'x'.repeat(100_000));
    expect(JSON.parse(big[0])).toEqual({ v: 1, ok: false, error: 'request too large (over 65536 bytes without a newline)' });
    expect((await tc('class show dev pspat0 classid 1:10')).code).toBe(0);
  });

  it('refuses a peer that is not root, by its credentials', async () => {
    // Open the directory and socket up, so only the peer-credential check stands in the way.
    chmodSync(dirname(d.runDir), 0o755);
    chmodSync(d.runDir, 0o755);
    chmodSync(join(d.runDir, 'pspat.sock'), 0o666);
    try {
      const script = `const c=require('net').createConnection(${JSON.stringify(join(d.runDir, 'pspat.sock'))});c.on('data',b=>{process.stdout.write(b);c.end()});c.write('{"v":1,"op":"ping"}\\n')`;
      const out = execFileSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', script]).toString();
      expect(JSON.parse(out)).toEqual({ v: 1, ok: false, error: 'permission denied: the pspat daemon takes commands from root only (peer uid 65534)' });
    } finally {
      chmodSync(dirname(d.runDir), 0o700);
      chmodSync(d.runDir, 0o700);
      chmodSync(join(d.runDir, 'pspat.sock'), 0o600);
    }
  });

  it('dumps its configuration, its own options too; a new daemon loaded from it runs the same', async () => {
    process.env.PSPAT_RUN_DIR = d.runDir;
    const dump = await pspat(['config', 'dump']);
    expect(dump.code).toBe(0);
    const file = join(dirname(d.runDir), 'dump.yaml');
    writeFileSync(file, dump.stdout);
    const classes = (await tc('class show dev pspat0')).stdout;
    const filters = (await tc('filter show dev pspat0')).stdout;
    const second = await startDaemon(['--config', file]);
    try {
      process.env.PSPAT_RUN_DIR = second.runDir;
      expect((await pspat(['tc', 'class', 'show', 'dev', 'pspat0'])).stdout).toBe(classes);
      expect((await pspat(['tc', 'filter', 'show', 'dev', 'pspat0'])).stdout).toBe(filters);
      // Every option it ran with, the same in the second (the run directory is each one's own).
      expect((await pspat(['config', 'dump'])).stdout).toBe(dump.stdout);
      expect(dump.stdout).toMatch(/^daemon:\n( {2}.*\n)* {2}backend: "null"\n/m);
      expect(dump.stdout).toMatch(/^ {2}maxClasses: \d+$/m);
    } finally {
      expect(await second.stop()).toBe(0);
    }
  });
});

describe('pspat daemon and pspat tc, failing cleanly', () => {
  it('pspat tc with no daemon says so and how to start one', async () => {
    const dir = tempRunDir();
    process.env.PSPAT_RUN_DIR = dir;
    const r = await pspat(['tc', 'qdisc', 'add', 'dev', 'x0', 'root', 'htb']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`pspat tc: no daemon is running (no control socket at ${dir}/pspat.sock); start one with: pspat daemon --run-dir ${dir}\n`);
  });

  it('a bad configuration names the command that failed, exits 1 and leaves no socket', async () => {
    const dir = tempRunDir();
    const file = join(dirname(dir), 'bad.yaml');
    writeFileSync(
      file,
      'version: 1\ndevices:\n  pspat1:\n    - "qdisc add dev pspat1 root handle 1: htb"\n    - "class add dev pspat1 parent 1: classid 1:1 htb rate fast"\n',
    );
    const r = await pspat(['daemon', '--run-dir', dir, '--config', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`pspat: ${file}: devices.pspat1[1]: Illegal "rate"\n`);
    process.env.PSPAT_RUN_DIR = dir;
    expect((await pspat(['tc', 'qdisc', 'show', 'dev', 'pspat1'])).stderr).toContain('no daemon is running');
  });

  it('spreads devices over several arbiters when asked; refuses a bad count', async () => {
    const daemon = await startDaemon(['--arbiters', '2']);
    try {
      expect(daemon.log()).toContain('(2 arbiters, backend null;');
      process.env.PSPAT_RUN_DIR = daemon.runDir;
      for (const dev of ['pspat2', 'pspat3']) {
        expect((await pspat(['tc', 'qdisc', 'add', 'dev', dev, 'root', 'handle', '1:', 'drr'])).code).toBe(0);
        expect((await pspat(['tc', 'class', 'add', 'dev', dev, 'parent', '1:', 'classid', '1:1', 'drr', 'quantum', '3000'])).code).toBe(0);
        expect((await pspat(['tc', 'class', 'show', 'dev', dev])).stdout).toBe('class drr 1:1 root quantum 3000b \n');
      }
    } finally {
      expect(await daemon.stop()).toBe(0);
    }
    expect(daemon.log()).toMatch(/stopped; 2 links: offered 0 = sent 0/);
    const bad = await pspat(['daemon', '--run-dir', tempRunDir(), '--arbiters', '0']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe('pspat: arbiters: must be an integer in [1, 64], got 0\n');
  });

  it('stops on SIGTERM with its final accounting', async () => {
    const daemon = await startDaemon();
    expect(await daemon.stop()).toBe(0);
    expect(daemon.log()).toMatch(/pspat daemon: SIGTERM: stopped; 0 links: offered 0 = sent 0 \+ dropped 0 \+ still queued 0\n$/);
  });
});
