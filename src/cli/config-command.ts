/** `pspat config dump`: the running daemon's configuration as YAML (or JSON), replayable with `pspat daemon --config`. */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { defaultRunDir, request } from '../daemon/control-socket.js';

export function registerConfig(program: Command): void {
  const config = program.command('config').description("the daemon's configuration");
  config
    .command('dump')
    .description('print the running configuration (tc commands per device) as YAML')
    .option('--json', 'JSON instead of YAML')
    .option('--out <file>', 'write it to FILE')
    .action(async (o: { json?: boolean; out?: string }) => {
      const reply = await request(defaultRunDir(), { op: 'config' });
      const text = o.json ? `${JSON.stringify(reply.config, null, 2)}\n` : stringify(reply.config, { lineWidth: 0 });
      if (o.out) writeFileSync(o.out, text);
      else process.stdout.write(text);
    });
}
