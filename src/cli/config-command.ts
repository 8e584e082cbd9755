/**
 * `pspat config dump`: the running daemon's configuration as YAML (or JSON), replayable
 * with `pspat daemon --config`. `pspat config validate FILE`: whether a daemon would start
 * from FILE — its options and every device's tc commands, checked as the daemon checks
 * them, by an in-process daemon on the null backend that touches no device and opens no
 * socket.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { DEFAULT_REQUEST_TIMEOUT_MS, defaultRunDir, request } from '../daemon/control-socket.js';
import { loadConfigFile } from '../daemon/config.js';
import { checkSchema, configSchema } from './config-schema.js';
import { Daemon } from '../daemon/daemon.js';
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
  config
    .command('schema')
    .description("print the configuration file's JSON Schema (the published copy: schema/pspat-config.schema.json)")
    .action(() => {
      process.stdout.write(`${JSON.stringify(configSchema(), null, 2)}\n`);
    });
  config
    .command('validate <file>')
    .description('check a configuration file as pspat daemon --config would, without starting anything; exit 1 naming the first problem')
    .action(async (file: string) => {
      const config = loadConfigFile(file, checkSchema); // its options checked there, naming the file
      const runDir = mkdtempSync(join(tmpdir(), 'pspat-validate-'));
      try {
        const daemon = await Daemon.start({ ...config.daemon, backend: 'null', attach: false, testTraffic: {}, arbiters: 1, runDir });
        try {
          await daemon.load(config.devices, file);
        } finally {
          await daemon.close();
        }
      } finally {
        rmSync(runDir, { recursive: true, force: true });
      }
      const commands = Object.values(config.devices).reduce((a, c) => a + c.length, 0);
      const devices = Object.keys(config.devices).length;
      process.stdout.write(`${file}: valid (${devices} device${devices === 1 ? '' : 's'}, ${commands} tc command${commands === 1 ? '' : 's'})\n`);
    });
}
