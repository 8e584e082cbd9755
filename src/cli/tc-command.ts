/**
 * `pspat tc ...`: tc's command line, applied by the daemon. The arguments go through
 * tc's grammar here first (so a bad command fails even with no daemon, as tc would);
 * what pspat leaves to the kernel — ingress, clsact, actions, devices the daemon does not
 * manage — runs the system's tc with the same arguments, output and exit status.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { defaultRunDir, request } from '../daemon/control-socket.js';
import type { TcReply } from '../daemon/daemon.js';
import { PspatError } from '../errors.js';
import { TcError } from '../tc/errors.js';
import { parseTc } from '../tc/grammar.js';

/** The system's tc: $PSPAT_SYSTEM_TC, else iproute2's usual places, else tc on the PATH. */
function systemTc(): string {
  if (process.env.PSPAT_SYSTEM_TC) return process.env.PSPAT_SYSTEM_TC;
  return ['/usr/sbin/tc', '/sbin/tc', '/usr/bin/tc'].find((p) => existsSync(p)) ?? 'tc';
}

function runSystemTc(argv: string[], reason: string): number {
  const tc = systemTc();
  const r = spawnSync(tc, argv, { stdio: 'inherit' });
  if (r.error) {
    process.stderr.write(`pspat tc: cannot run the system's tc (${tc}: ${(r.error as NodeJS.ErrnoException).code}), needed because ${reason}\n`);
    return 1;
  }
  return r.status ?? 1;
}

export async function runTc(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseTc(argv);
  } catch (e) {
    if (!(e instanceof TcError)) throw e;
    process.stderr.write(`${e.message}\n`);
    return e.exitCode;
  }
  if ('passthrough' in parsed.command) return runSystemTc(argv, parsed.command.reason);
  let reply: TcReply;
  try {
    reply = (await request(process.env.PSPAT_RUN_DIR || defaultRunDir(), { op: 'tc', argv })).reply as TcReply;
  } catch (e) {
    if (!(e instanceof PspatError)) throw e;
    process.stderr.write(`pspat tc: ${e.message}\n`);
    return 1;
  }
  if ('passthrough' in reply) return runSystemTc(argv, reply.reason);
  process.stdout.write(reply.stdout);
  process.stderr.write(reply.stderr);
  return reply.exitCode;
}
