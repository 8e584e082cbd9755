/**
 * The files in examples/ that people copy: the systemd unit is valid for systemd, and
 * every pspat flag it uses is one the command has; every query of the Grafana dashboard
 * names metrics the daemon exports.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { pspat } from './helpers/cli.js';
import { MetricsRegistry } from '../src/daemon/metrics.js';
import { neededCapabilities } from '../src/daemon/privileges.js';

const unit = fileURLToPath(new URL('../examples/pspat.service', import.meta.url));
const hasSystemd = spawnSync('systemd-analyze', ['--version']).status === 0;

describe('examples/pspat.service', () => {
  // .ci/run installs systemd (for systemd-analyze); elsewhere say why this does not run.
  it.skipIf(!hasSystemd)('passes systemd-analyze verify without a word', () => {
    const r = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
    expect([r.status, r.stdout + r.stderr]).toEqual([0, '']);
  });

  it('runs pspat commands with flags they have', async () => {
    const lines = readFileSync(unit, 'utf8')
      .split('\n')
      .filter((l) => /^Exec\w*=/.test(l));
    expect(lines.length).toBeGreaterThanOrEqual(2);
    for (const line of lines) {
      const [, command, args] = /pspat (\w+)(.*)$/.exec(line)!;
      const help = (await pspat([command, '--help'])).stdout;
      for (const flag of args.match(/--[a-z-]+/g) ?? []) expect(help, `${command} ${flag}`).toMatch(new RegExp(`^\\s+${flag}\\b`, 'm'));
    }
  });
});

describe('examples/grafana-dashboard.json', () => {
  const dashboard = JSON.parse(readFileSync(fileURLToPath(new URL('../examples/grafana-dashboard.json', import.meta.url)), 'utf8')) as {
    panels: { title: string; targets: { expr: string }[] }[];
    templating: { list: { query?: unknown }[] };
  };
  // Every metric the daemon's registry declares (histograms add _bucket, _sum and _count).
  const registry = new MetricsRegistry({
    liveReadings: async () => [],
    loops: () => [],
    placement: () => ({ plan: { arbiters: [], clients: { cpus: [], priority: 0 }, tx: { cpus: [], priority: 0 } }, arbiterThreads: [] }),
  }).registry;
  const exported = new Set(
    registry.getMetricsAsArray().flatMap((m) => (String(m.type) === 'histogram' ? ['_bucket', '_sum', '_count'].map((s) => m.name + s) : [m.name])),
  );

  it('queries only metrics the daemon exports', () => {
    const queries = [
      ...dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)),
      ...dashboard.templating.list.map((v) => v.query).filter((q): q is string => typeof q === 'string'),
    ];
    expect(queries.length).toBeGreaterThanOrEqual(10);
    for (const q of queries) {
      for (const name of q.match(/\bpspat_[a-z_]+/g) ?? []) expect(exported.has(name), `${name} in ${q}`).toBe(true);
    }
  });

  it('shows rates against the configured ones, drops by reason and delay as a heatmap', () => {
    const titles = dashboard.panels.map((p) => p.title);
    expect(titles).toEqual(expect.arrayContaining(['Class rate against its configured rate', 'Drops by reason', 'Queue delay (all classes)']));
    expect(dashboard.panels.find((p) => p.title === 'Queue delay (all classes)')).toMatchObject({ type: 'heatmap' });
  });
});

describe('examples/container', () => {
  const readme = readFileSync(fileURLToPath(new URL('../examples/container/README.md', import.meta.url)), 'utf8');
  const run = readme.slice(readme.indexOf('docker run'), readme.indexOf('\n\n', readme.indexOf('docker run')));

  it('grants exactly the capabilities the daemon names for a takeover with AF_XDP and real-time priority', () => {
    const granted = [...run.matchAll(/--cap-add (\w+)/g)].map((m) => `CAP_${m[1]}`).sort();
    expect(granted).toEqual(neededCapabilities({ native: true, attach: true, xdpSockets: true, realtime: true }).sort());
    expect(run).toMatch(/--cap-drop ALL/);
  });

  it('passes the daemon flags it has', async () => {
    const help = (await pspat(['daemon', '--help'])).stdout;
    const image = run.slice(run.lastIndexOf(' pspat '));
    for (const flag of image.match(/--[a-z-]+/g) ?? []) expect(help, flag).toMatch(new RegExp(`^\\s+${flag}\\b`, 'm'));
  });
});
