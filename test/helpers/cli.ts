/** Runs the `pspat` command (optionally behind a wrapper such as setpriv) and collects its result. */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const PSPAT_BIN = fileURLToPath(new URL('../../bin/pspat.js', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `pspat ...args`, run as `...wrapper node bin/pspat.js ...args`. */
export function pspat(args: string[], wrapper: string[] = []): Promise<CliResult> {
  const [cmd, ...pre] = [...wrapper, process.execPath];
  return new Promise((resolve) =>
    execFile(cmd, [...pre, PSPAT_BIN, ...args], { timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}
