/** `pspat config dump`: the running daemon's configuration as YAML (or JSON), replayable with `pspat daemon --config`. */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { DEFAULT_REQUEST_TIMEOUT_MS, defaultRunDir, request } from '../daemon/control-socket.js';
import { timeoutArg } from './parse.js';

export function registerConfig(program: Command): void {
  const config = program.command('config').description("the daemon's configuration");
  config
    .command('dump')
    .description('print the running configuration (tc commands per device) as YAML')
    .option('--json', 'JSON instead of YAML')
    .option('--out <file>', 'write it to FILE')
    .option('--run-dir <dir>', "the daemon's run directory (default: $PSPAT_RUN_DIR or /run/pspat)")
    .option('--timeout <seconds>', `how long to wait for the daemon (default: ${DEFAULT_REQUEST_TIMEOUT_MS / 1000})`, timeoutArg)
    .action(async (o: { json?: boolean; out?: string; runDir?: string; timeout?: number }) => {
      const reply = await request(o.runDir ?? defaultRunDir(), { op: 'config' }, o.timeout);
      const text = o.json ? `${JSON.stringify(reply.config, null, 2)}\n` : stringify(reply.config, { lineWidth: 0 });
      if (o.out) writeFileSync(o.out, text);
      else process.stdout.write(text);
    });
}
