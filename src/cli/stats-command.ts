/**
 * `pspat stats [--save FILE] [--format table|json|csv|html]`: the running daemon's
 * per-class delay percentiles by stage (as `pspat report` prints them), or its state as
 * RUN.json with `--save` for a later `pspat report`.
 */
import type { Command } from 'commander';
import { DEFAULT_REQUEST_TIMEOUT_MS, defaultRunDir, request } from '../daemon/control-socket.js';
import { timeoutArg } from './parse.js';
import { checkRunFile, RUN_FORMAT, writeRunFile, type Run } from '../report/run-file.js';
import { FORMATS, renderRuns, type Format } from './report-command.js';
import { InvalidOptionError } from '../errors.js';

export function registerStats(program: Command): void {
  program
    .command('stats')
    .description("the running daemon's delay percentiles per class and stage; --save writes RUN.json for pspat report")
    .option('--save <file>', 'write RUN.json to FILE instead of printing')
    .option('--format <format>', `${FORMATS.join(' | ')} (default: table)`, 'table')
    .option('--run-dir <dir>', "the daemon's run directory (default: $PSPAT_RUN_DIR or /run/pspat)")
    .option('--timeout <seconds>', `how long to wait for the daemon (default: ${DEFAULT_REQUEST_TIMEOUT_MS / 1000})`, timeoutArg)
    .action(async (o: { save?: string; format: string; runDir?: string; timeout?: number }) => {
      if (!(FORMATS as readonly string[]).includes(o.format)) throw new InvalidOptionError('format', `must be one of ${FORMATS.join(', ')}, got '${o.format}'`);
      const reply = await request(o.runDir ?? defaultRunDir(), { op: 'stats' }, o.timeout);
      // Checked as a file would be: a daemon of another version fails here, clearly.
      const run = checkRunFile({ format: RUN_FORMAT, runs: [reply.run] }, 'daemon reply').runs[0] as Run;
      if (o.save) writeRunFile(o.save, [run]);
      else process.stdout.write(renderRuns([{ path: 'daemon', runs: [run] }], o.format as Format));
    });
}
