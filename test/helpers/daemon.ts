/** Starts `pspat daemon` as a child process on a private run directory, for CLI-level tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PSPAT_BIN } from './cli.js';

export interface RunningDaemon {
  runDir: string;
  child: ChildProcess;
  /** Everything the daemon wrote to stderr so far. */
  log(): string;
  /** SIGTERM, then its exit code. */
  stop(): Promise<number>;
  /** Its exit code, whenever it exits. */
  exited: Promise<number>;
}

export function tempRunDir(): string {
  return join(mkdtempSync(join(tmpdir(), 'pspat-daemon-')), 'run');
}

/** Resolves once the daemon listens (inside network namespace `netns` if given); rejects with its output if it exits first. */
export function startDaemon(args: string[] = [], runDir = tempRunDir(), netns?: string): Promise<RunningDaemon> {
  const argv = [process.execPath, PSPAT_BIN, 'daemon', '--run-dir', runDir, ...args];
  // `ip netns exec` execs the command: the child's pid is the daemon's.
  const child =
    netns === undefined
      ? spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn('ip', ['netns', 'exec', netns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  const exited = new Promise<number>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1))));
  return new Promise((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('listening on')) {
        resolve({
          runDir,
          child,
          log: () => err,
          exited,
          stop: async () => {
            child.kill('SIGTERM');
            return exited;
          },
        });
      }
    });
    exited.then((code) => reject(new Error(`daemon exited with ${code}: ${err}`)));
  });
}

/** After a test with a daemon and a topology: stops the daemon if it still runs, removes the topology (also after a failure). */
export async function stopDaemonAndTopology(d: RunningDaemon | undefined, topology: { destroy(): void } | undefined): Promise<void> {
  try {
    if (d && d.child.exitCode === null) await d.stop();
  } finally {
    delete process.env.PSPAT_RUN_DIR;
    topology?.destroy();
  }
}
