/**
 * How long one `pspat tc` call takes against a bare `node` start, the baseline every call
 * pays (libvirt and sqm-scripts run tc dozens of times per VM or interface start): the
 * median of N calls each, with the spread. The tc call is `class show` of a device the
 * daemon (null backend, in a namespace of its own) manages, so it parses, asks the daemon
 * and prints, as a script's call does. Prints a table, writes JSON (runs/bench-tc-speed.json
 * or --out FILE). Needs root (a network namespace).
 *
 *   npm run build && node dist/bench/tc-speed.js [--calls 20] [--out FILE]
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderTable } from '../src/report/table.js';
import { median } from '../src/stats/median.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
}
const calls = Number(arg('calls', '20'));
const out = arg('out', 'runs/bench-tc-speed.json');
const PSPAT_BIN = fileURLToPath(new URL('../../bin/pspat.js', import.meta.url));
const ns = `pspat-tcspeed${process.pid % 100000}`;
const runDir = join(mkdtempSync(join(tmpdir(), 'pspat-tc-speed-')), 'run');
const env = { ...process.env, PSPAT_RUN_DIR: runDir };
const inNs = (...args: string[]) => execFileSync('ip', ['netns', 'exec', ns, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });

/** Wall milliseconds of each of `calls` runs of `args` in the namespace. */
function time(args: string[]): number[] {
  return Array.from({ length: calls }, () => {
    const t0 = performance.now();
    inNs(...args);
    return performance.now() - t0;
  });
}

execFileSync('ip', ['netns', 'add', ns]);
const daemon = spawn('ip', ['netns', 'exec', ns, process.execPath, PSPAT_BIN, 'daemon', '--backend', 'null', '--run-dir', runDir], {
  stdio: ['ignore', 'ignore', 'pipe'],
});
try {
  execFileSync('ip', ['-n', ns, 'link', 'add', 'd0', 'type', 'veth', 'peer', 'name', 'd1']);
  await new Promise<void>((resolve, reject) => {
    let log = '';
    daemon.stderr!.on('data', (d: Buffer) => {
      log += d.toString();
      if (log.includes('listening on')) resolve();
    });
    daemon.once('exit', (code) => reject(new Error(`daemon exited with ${code}: ${log}`)));
  });
  for (const line of ['qdisc add dev d0 root handle 1: htb', 'class add dev d0 parent 1: classid 1:1 htb rate 10mbit'])
    inNs(process.execPath, PSPAT_BIN, 'tc', ...line.split(' '));
  const node = time([process.execPath, '-e', '0']);
  const tc = time([process.execPath, PSPAT_BIN, 'tc', 'class', 'show', 'dev', 'd0']);
  const rows = [
    ['node -e 0', node],
    ['pspat tc class show', tc],
  ] as const;
  console.log(`${calls} calls each, inside a network namespace (ip netns exec included in both)`);
  console.log(
    renderTable(
      ['command', 'median', 'min', 'max'],
      rows.map(([name, xs]) => [name, `${median(xs).toFixed(1)} ms`, `${Math.min(...xs).toFixed(1)} ms`, `${Math.max(...xs).toFixed(1)} ms`]),
    ),
  );
  console.log(`pspat tc / node start: ${(median(tc) / median(node)).toFixed(2)}×`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify({ date: new Date().toISOString(), calls, nodeMs: node, tcMs: tc, ratio: median(tc) / median(node) }, null, 2)}\n`);
  console.log(`wrote ${out}`);
} finally {
  daemon.kill('SIGTERM');
  await new Promise((r) => daemon.once('exit', r));
  execFileSync('ip', ['netns', 'del', ns]);
}
