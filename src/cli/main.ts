/**
 * The `pspat` command line. Each subcommand lives in its own file and registers itself
 * here; errors the user caused print one line (`pspat: field: problem`) and give a
 * non-zero exit status, with no stack trace.
 */
import { Command, CommanderError } from 'commander';
import { PspatError } from '../errors.js';
import { registerBench } from './bench-command.js';
import { registerDemo } from './demo-command.js';
import { registerSim } from './sim-command.js';
import { registerReport } from './report-command.js';
import { registerStats } from './stats-command.js';
import { registerRecover } from './recover-command.js';
import { registerConfig } from './config-command.js';
import { registerDaemon } from './daemon-command.js';
import { packageVersion } from '../version.js';

export async function run(argv: string[]): Promise<number> {
  const program = new Command('pspat')
    .description('PSPAT-style centralised packet scheduler in user space')
    .version(packageVersion(), '-V, --version', "pspat's version")
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  registerDemo(program);
  registerBench(program);
  registerSim(program);
  registerReport(program);
  registerStats(program);
  registerRecover(program);
  registerDaemon(program);
  // Listed for --help only: bin/pspat.js hands `pspat tc` (tc's own arguments, -s and -j
  // included) to runTc without loading this file.
  program.command('tc').description("tc's command line, applied by the daemon: pspat tc [-s] [-j] qdisc|class|filter ...");
  registerConfig(program);
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode; // commander printed the message
    if (e instanceof PspatError) {
      process.stderr.write(`pspat: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}
