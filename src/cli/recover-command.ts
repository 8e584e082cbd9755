/**
 * `pspat recover`: gives back every device a dead daemon left attached (its egress still
 * diverted to a capture pair nobody reads), without starting a daemon. A daemon does the
 * same when it starts; this is the one-line fix when none will be started soon.
 */
import type { Command } from 'commander';
import { recoverAttachments } from '../attach/attach.js';
import { defaultRunDir } from '../daemon/control-socket.js';

export function registerRecover(program: Command): void {
  program
    .command('recover')
    .description("restore devices a killed daemon left attached (egress diverted); a running daemon's devices are left alone")
    .option('--run-dir <dir>', "the daemon's run directory (default: $PSPAT_RUN_DIR or /run/pspat)")
    .action((o: { runDir?: string }) => {
      const restored = recoverAttachments(o.runDir ?? defaultRunDir());
      process.stdout.write(restored.length === 0 ? 'pspat recover: nothing to restore\n' : `pspat recover: restored ${restored.join(', ')}\n`);
    });
}
