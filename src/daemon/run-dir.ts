/**
 * The run directory (control socket, attach state, run.json): a directory nobody else can
 * steer. Root trusts what is in it later (`pspat recover`, the next start undoes attach
 * state found there), so it must be this process's own, 0700, and not reached through a
 * symlink: a planted link or another user's directory is refused, never fixed up
 * (chmod/chown would follow the link to whatever it points at).
 */
import { closeSync, constants, fchmodSync, fstatSync, lstatSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { PspatError } from '../errors.js';

export class RunDirError extends PspatError {
  constructor(message: string) {
    super('ERR_PSPAT_RUN_DIR', message);
  }
}

/** Creates `dir` (0700) if missing, or checks the one there; throws a RunDirError saying what is wrong and what to do. */
export function secureRunDir(dir: string): void {
  mkdirSync(dirname(dir), { recursive: true, mode: 0o755 });
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new RunDirError(`run directory ${dir}: cannot create it (${(e as NodeJS.ErrnoException).code})`);
  }
  if (lstatSync(dir).isSymbolicLink())
    throw new RunDirError(`run directory ${dir} is a symbolic link: refusing it (remove it, or choose another with --run-dir)`);
  // O_NOFOLLOW: a link swapped in since the lstat fails here instead of being followed.
  let fd: number;
  try {
    fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  } catch (e) {
    throw new RunDirError(`run directory ${dir}: cannot open it as a directory (${(e as NodeJS.ErrnoException).code})`);
  }
  try {
    const st = fstatSync(fd);
    const euid = process.geteuid?.() ?? 0;
    if (st.uid !== euid) {
      throw new RunDirError(`run directory ${dir} belongs to uid ${st.uid}, not to this process (uid ${euid}): remove it, or choose another with --run-dir`);
    }
    fchmodSync(fd, 0o700);
  } finally {
    closeSync(fd);
  }
}
