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
import { timeoutArg } from './parse.js';

/** The system's tc: $PSPAT_SYSTEM_TC, else iproute2's usual places, else tc on the PATH. */
function systemTc(): string {
  if (process.env.PSPAT_SYSTEM_TC) return process.env.PSPAT_SYSTEM_TC;
  return ['/usr/sbin/tc', '/sbin/tc', '/usr/bin/tc'].find((p) => existsSync(p)) ?? 'tc';
}

/**
 * `qdisc show` of every device: the system's tc for the devices pspat does not manage,
 * then pspat's for those it does (the kernel's view of a managed device is not the one
 * that schedules it). JSON arrays are merged the same way.
 */
function mergeWithSystem(argv: string[], reply: { stdout: string; managed: string[] }, json: boolean): string {
  const r = spawnSync(systemTc(), argv, { encoding: 'utf8' });
  if (r.error || r.status !== 0) return reply.stdout;
  const managed = new Set(reply.managed);
  if (json) {
    const system = (JSON.parse(r.stdout || '[]') as { dev?: string }[]).filter((q) => !managed.has(q.dev ?? ''));
    return `${JSON.stringify([...system, ...(JSON.parse(reply.stdout) as object[])])}\n`;
  }
  // tc's blocks start with "qdisc ..." and name their device: "qdisc KIND HANDLE dev DEV ...".
  const blocks = r.stdout.split(/\n(?=qdisc )/).filter((b) => b.trim() !== '');
  const kept = blocks.filter((b) => !managed.has(/^qdisc \S+ \S+ dev (\S+)/.exec(b)?.[1] ?? ''));
  return [...kept.map((b) => b.replace(/\n$/, '')), reply.stdout.replace(/\n$/, '')].filter((b) => b !== '').join('\n') + '\n';
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

/**
 * pspat's own options, before tc's arguments (tc has no long options of these names):
 * `--run-dir DIR` (default $PSPAT_RUN_DIR or /run/pspat), `--timeout SECONDS`.
 */
function clientOptions(argv: string[]): { runDir: string; timeoutMs?: number; rest: string[] } {
  let runDir = defaultRunDir();
  let timeoutMs: number | undefined;
  let i = 0;
  for (; i < argv.length; i += 2) {
    if (argv[i] === '--run-dir' && argv[i + 1] !== undefined) runDir = argv[i + 1];
    else if (argv[i] === '--timeout' && argv[i + 1] !== undefined) timeoutMs = timeoutArg(argv[i + 1]);
    else break;
  }
  return { runDir, timeoutMs, rest: argv.slice(i) };
}

export async function runTc(all: string[]): Promise<number> {
  let client;
  try {
    client = clientOptions(all);
  } catch (e) {
    if (!(e instanceof PspatError)) throw e;
    process.stderr.write(`pspat tc: ${e.message}\n`);
    return 1;
  }
  const argv = client.rest;
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
    reply = (await request(client.runDir, { op: 'tc', argv }, client.timeoutMs)).reply as TcReply;
  } catch (e) {
    if (!(e instanceof PspatError)) throw e;
    process.stderr.write(`pspat tc: ${e.message}\n`);
    return 1;
  }
  if ('passthrough' in reply) return runSystemTc(argv, reply.reason);
  if (reply.managed) reply.stdout = mergeWithSystem(argv, { stdout: reply.stdout, managed: reply.managed }, parsed.flags.json);
  process.stdout.write(reply.stdout);
  process.stderr.write(reply.stderr);
  return reply.exitCode;
}
