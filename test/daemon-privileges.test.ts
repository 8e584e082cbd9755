/**
 * Privileges: a daemon that lacks a capability it would need to take devices over says
 * which, in one line, before touching anything; `--user` runs it as another user with
 * exactly the capabilities it needs, and it still takes a device over, sends, and gives
 * the device back on SIGTERM.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { createSinkTopology, sinkPackets, type SinkTopology } from '../src/testbed/netns.js';
import { PSPAT_BIN, pspat } from './helpers/cli.js';
import { startDaemon, stopDaemonAndTopology, tempRunDir, type RunningDaemon } from './helpers/daemon.js';
import { skipWithoutNet } from './helpers/netns.js';

/** Runs `pspat daemon ARGS` under setpriv without CAP_SYS_ADMIN; its exit code and stderr. */
function daemonWithoutSysAdmin(args: string[]): Promise<{ code: number; stderr: string }> {
  const child = spawn('setpriv', ['--bounding-set', '-sys_admin', '--inh-caps', '-sys_admin', '--', process.execPath, PSPAT_BIN, 'daemon', ...args]);
  let stderr = '';
  let stopped = false;
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (stopped || !stderr.includes('listening on')) return;
    stopped = true;
    child.kill('SIGTERM');
  });
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code: code ?? 128, stderr })));
}

/** The lines of /proc/PID/status (and of each of its threads) that start with `key`. */
function statusLines(pid: number, key: string): string[] {
  return readdirSync(`/proc/${pid}/task`).map(
    (tid) =>
      readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8')
        .split('\n')
        .find((l) => l.startsWith(key))!,
  );
}

describe.skipIf(skipWithoutNet())('daemon privileges', () => {
  let topo: SinkTopology | undefined;
  let d: RunningDaemon | undefined;
  afterEach(async () => {
    await stopDaemonAndTopology(d, topo);
    d = topo = undefined;
  });

  it('without CAP_SYS_ADMIN, taking over egress is refused at start in one line naming it; with --no-attach it starts', async () => {
    const runDir = tempRunDir();
    const r = await daemonWithoutSysAdmin(['--run-dir', runDir, '--backend', 'afpacket']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      "pspat: pspat daemon --backend afpacket (taking over devices' egress) needs CAP_NET_ADMIN, CAP_NET_RAW, CAP_SYS_ADMIN, CAP_DAC_OVERRIDE, CAP_IPC_LOCK; " +
        'this process lacks CAP_SYS_ADMIN (run as root, or add --no-attach)\n',
    );
    expect(existsSync(runDir)).toBe(false); // nothing was touched

    const ok = await daemonWithoutSysAdmin(['--run-dir', runDir, '--backend', 'afpacket', '--no-attach']);
    expect(ok.stderr).toContain('listening on');
    expect(ok.code).toBe(0);
  });

  it('--user with a name the user database does not know is refused in one line, before anything is touched', async () => {
    const runDir = tempRunDir();
    const r = await pspat(['daemon', '--run-dir', runDir, '--no-attach', '--user', 'pspat-no-such-user']);
    expect([r.code, r.stderr]).toEqual([1, "pspat: --user: no such user 'pspat-no-such-user'\n"]);
    expect(existsSync(runDir)).toBe(false);
  });

  it('--user nobody: every thread runs as nobody with at most the five capabilities; it takes a device over (ring capture), sends, and gives it back', async () => {
    const t = createSinkTopology('prv');
    topo = t;
    d = await startDaemon(['--backend', 'afpacket', '--user', 'nobody', '--rate', `${t.dev}=50mbit`, '--test-traffic', `${t.dev}=5001/1000`]);
    expect(d.log()).toContain(
      'pspat daemon: running as nobody (uid 65534, gid 65534) with CAP_NET_ADMIN, CAP_NET_RAW, CAP_SYS_ADMIN, CAP_DAC_OVERRIDE, CAP_IPC_LOCK\n',
    );
    process.env.PSPAT_RUN_DIR = d.runDir;
    expect((await pspat(['tc', 'qdisc', 'add', 'dev', t.dev, 'root', 'handle', '1:', 'htb', 'default', '10'])).code).toBe(0);
    expect((await pspat(['tc', 'class', 'add', 'dev', t.dev, 'parent', '1:', 'classid', '1:10', 'htb', 'rate', '20mbit'])).code).toBe(0);
    const before = sinkPackets(t);
    await sleep(500);
    expect(sinkPackets(t) - before).toBeGreaterThan(500); // 20 Mbit/s of 1000 B: 2500/s

    const pid = d.child.pid!;
    for (const line of statusLines(pid, 'Uid:')) expect(line.split(/\s+/).slice(1)).toEqual(['65534', '65534', '65534', '65534']);
    // The main thread and the threads it started keep the set (DAC_OVERRIDE 1, NET_ADMIN 12, NET_RAW 13, IPC_LOCK 14, SYS_ADMIN 21); older threads have none.
    const caps = new Set(statusLines(pid, 'CapEff:').map((l) => l.split(/\s+/)[1]));
    expect([...caps].sort()).toEqual(['0000000000000000', '0000000000207002']);
    expect(d.log()).toContain(`${t.dev}: capture by ring in the sender (super-packets by XDP)`);
    const statePath = join(d.runDir, 'attach', `${t.dev}.json`);
    expect(existsSync(statePath)).toBe(true);

    expect(await d.stop()).toBe(0);
    expect(d.log()).toMatch(/SIGTERM: stopped; 1 link: offered (\d+) = sent \d+ \+ dropped \d+ \+ still queued 0/);
    expect(existsSync(statePath)).toBe(false);
    expect(execFileSync('tc', ['filter', 'show', 'dev', t.dev, 'egress'], { encoding: 'utf8' })).toBe('');
  });
});
