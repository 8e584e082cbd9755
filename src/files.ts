/**
 * Reading and writing the files users hand pspat (configuration, workloads, RUN.json) as
 * untrusted input: only regular files (a FIFO would block, /dev/zero never ends), up to a
 * size; writes are atomic and never follow a symlink at the destination (a planted link
 * in a directory root writes to must not redirect the write).
 */
import { closeSync, constants, fstatSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Throws `Error(message)` whose message says what is wrong with the file; callers add where. */
export function readInputFile(path: string, maxBytes: number): string {
  // O_NONBLOCK: opening a FIFO with no writer must not wait; nothing is read from one anyway.
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new Error('not a regular file');
    if (st.size > maxBytes) throw new Error(`${st.size} bytes, over the limit of ${maxBytes}`);
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

/** Writes `text` to `path` through a new file beside it, renamed over `path` (which may be a symlink: it is replaced, not followed). */
export function writeFileAtomic(path: string, text: string): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    writeFileSync(tmp, text, { flag: 'wx', mode: 0o644 });
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** Why a file operation failed, in one word where the system has one (ENOENT, EISDIR, …). */
export function fileError(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? (e as Error).message ?? String(e);
}
