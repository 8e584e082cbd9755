/**
 * CPU hogs for `bench e2e --load-hogs N`: N busy processes at normal priority, unpinned,
 * running through every mode alike — a busy VM host, where the kernel's path runs in the
 * sender's own system call and pspat's needs its arbiter to get a CPU.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface LoadHogs {
  stop(): void;
}

export function startLoadHogs(count: number): LoadHogs {
  const hogs: ChildProcess[] = [];
  // A plain busy loop; each hog ends itself if this process dies without stopping it (its stdin closes).
  const busy =
    "process.stdin.on('end', () => process.exit(0)); process.stdin.resume(); setImmediate(function spin() { const t = Date.now() + 50; while (Date.now() < t); setImmediate(spin); });";
  for (let i = 0; i < count; i++) hogs.push(spawn(process.execPath, ['-e', busy], { stdio: ['pipe', 'ignore', 'ignore'] }));
  return {
    stop() {
      for (const h of hogs) h.kill('SIGKILL');
    },
  };
}
