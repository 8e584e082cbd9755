/**
 * The package as a user installs it: `npm pack`, then `npm install -g` of the tarball
 * into a fresh prefix (dependencies from the registry, or npm's cache when warm), then the
 * installed `pspat` — no checkout, no dist/ of ours, the addon built by the install script.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const work = mkdtempSync(join(tmpdir(), 'pspat-package-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** npm of the node running the tests (beside it, as node's installers put it), else the PATH's. */
function npm(args: string[], cwd: string): string {
  const beside = join(dirname(process.execPath), 'npm');
  return execFileSync(existsSync(beside) ? beside : 'npm', args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, npm_config_loglevel: 'error' },
  });
}

describe('the npm package', () => {
  it('installs globally from its tarball and runs: --version, and the demo on the null backend', () => {
    // Without prepack's build: the test command built dist/ already, and rewriting it now
    // would pull files from under the test files running beside this one.
    const tarball = npm(['pack', '--ignore-scripts', '--pack-destination', work], root).trim().split('\n').at(-1)!;
    const prefix = join(work, 'prefix');
    npm(['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', join(work, tarball)], work);
    const bin = join(prefix, 'bin', 'pspat');
    const installed = join(prefix, 'lib', 'node_modules', 'pspat-ts');
    expect(existsSync(join(installed, 'LICENSE'))).toBe(true);
    expect(existsSync(join(installed, 'dist', 'test'))).toBe(false); // only what users run
    const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
    expect(execFileSync(bin, ['--version'], { encoding: 'utf8' })).toBe(`${version}\n`);
    const demo = JSON.parse(execFileSync(bin, ['demo', '--seconds', '0.5', '--json'], { encoding: 'utf8', cwd: work })) as { totals: { offered: number } };
    expect(demo.totals.offered).toBeGreaterThan(0);
    // The install script built the addon and the diversion program beside it.
    expect(existsSync(join(installed, 'native', 'build', 'Release', 'pspat_native.node'))).toBe(true);
    expect(existsSync(join(installed, 'native', 'build', 'Release', 'divert.bpf.o'))).toBe(true);
  }, 300_000);
});
