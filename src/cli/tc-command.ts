/**
 * `pspat tc ...`: tc's command line, applied by the daemon. The arguments go through
 * tc's grammar here first (so a bad command fails even with no daemon, as tc would);
 * what pspat leaves to the kernel — ingress, clsact, actions, devices the daemon does not
 * manage — runs the system's tc with the same arguments, output and exit status.
 * tc's own ways of running commands work too: `-batch FILE` (each line as one call, `-force`
 * to go on after a failure), `-n NETNS` (this command inside that network namespace),
 * `-V` (tc's version and pspat's).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { packageVersion } from '../version.js';
import { defaultRunDir, request } from '../daemon/control-socket.js';
import type { ParsedTc, TcReply } from '../tc/model.js';
import { PspatError } from '../errors.js';
import { TcError } from '../tc/errors.js';
import { globalOption, parseTc } from '../tc/grammar.js';
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
  return `${[...kept.map((b) => b.replace(/\n$/, '')), reply.stdout.replace(/\n$/, '')].filter((b) => b !== '').join('\n')}\n`;
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

/** tc's options that change how commands run, not what one command means. */
interface RunOptions {
  /** Global options to pass on with each command (-s, -d, -j, …). */
  flags: string[];
  batch?: string;
  force: boolean;
  netns?: string;
  version: boolean;
  /** The command line without `-n NETNS`, to run inside that namespace. */
  withoutNetns: string[];
}

/** Reads tc's leading options in tc's order of prefixes (`-n` is -netns, `-b` -batch); the rest is the grammar's. */
function runOptions(argv: string[]): RunOptions {
  const o: RunOptions = { flags: [], force: false, version: false, withoutNetns: [] };
  let i = 0;
  for (; i < argv.length && argv[i].startsWith('-') && argv[i] !== '-'; i++) {
    const name = globalOption(argv[i]);
    if (name === '-netns') {
      o.netns = argv[++i];
      continue;
    }
    o.withoutNetns.push(argv[i]);
    if (name === '-batch') {
      o.batch = argv[++i];
      o.withoutNetns.push(o.batch);
    } else if (name === '-Version') o.version = true;
    else if (name === '-force') o.force = true;
    else o.flags.push(argv[i]);
  }
  o.withoutNetns.push(...argv.slice(i));
  return o;
}

export async function runTc(all: string[]): Promise<number> {
  let client: ReturnType<typeof clientOptions>;
  try {
    client = clientOptions(all);
  } catch (e) {
    if (!(e instanceof PspatError)) throw e;
    process.stderr.write(`pspat tc: ${e.message}\n`);
    return 1;
  }
  const o = runOptions(client.rest);
  if (o.netns !== undefined) return inNetns(o.netns, [...all.slice(0, all.length - client.rest.length), ...o.withoutNetns]);
  if (o.version) return version();
  if (o.batch !== undefined) return batch(client, o);
  return runOne(client, client.rest);
}

/** `-n NETNS`: the rest of the command, run by pspat inside that namespace (the daemon serving it is found by the same run directory). */
function inNetns(netns: string, rest: string[]): number {
  const bin = fileURLToPath(new URL('../../../bin/pspat.js', import.meta.url));
  const r = spawnSync('ip', ['netns', 'exec', netns, process.execPath, bin, 'tc', ...rest], { stdio: 'inherit' });
  if (r.error) {
    process.stderr.write(`pspat tc: cannot enter network namespace ${netns}: ${(r.error as NodeJS.ErrnoException).code}\n`);
    return 1;
  }
  return r.status ?? 1;
}

/** `-V`: the system's tc says its version; pspat adds its own. */
function version(): number {
  const r = spawnSync(systemTc(), ['-V'], { encoding: 'utf8' });
  if (!r.error) process.stdout.write(r.stdout);
  process.stdout.write(`pspat tc, pspat-ts ${packageVersion()}\n`);
  return 0;
}

/**
 * `-batch FILE` (`-` for stdin), as iproute2 reads it: `#` starts a comment, a trailing
 * backslash joins the next line, words split at blanks with quotes kept together. Each
 * line runs as its own command with the global options given before -batch; a failed
 * one is named (`Command failed FILE:LINE`) and stops the batch, unless -force.
 */
async function batch(client: { runDir: string; timeoutMs?: number }, o: RunOptions): Promise<number> {
  let text: string;
  try {
    text = readFileSync(o.batch === '-' ? 0 : o.batch!, 'utf8');
  } catch (e) {
    process.stderr.write(`Cannot open file "${o.batch}" for reading: ${(e as NodeJS.ErrnoException).code}\n`);
    return 1;
  }
  let status = 0;
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const at = n + 1;
    let line = lines[n];
    while (line.endsWith('\\') && n + 1 < lines.length) line = line.slice(0, -1) + lines[++n];
    const words = splitWords(line.replace(/#.*/, ''));
    if (words.length === 0) continue;
    if ((await runOne(client, [...o.flags, ...words])) !== 0) {
      process.stderr.write(`Command failed ${o.batch}:${at}\n`);
      status = 1;
      if (!o.force) break;
    }
  }
  return status;
}

/** iproute2's makeargs: words split at blanks, a quoted run ("…" or '…') one word without its quotes. */
export function splitWords(line: string): string[] {
  const out: string[] = [];
  for (const m of line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)) out.push(m[1] ?? m[2] ?? m[3]);
  return out;
}

async function runOne(client: { runDir: string; timeoutMs?: number }, argv: string[]): Promise<number> {
  let parsed: ParsedTc;
  try {
    parsed = parseTc(argv);
  } catch (e) {
    if (!(e instanceof TcError)) throw e;
    process.stderr.write(`${e.message}\n`);
    return e.exitCode;
  }
  const command = parsed.command;
  // Under `parent ffff:` only the daemon knows whether that is the ingress qdisc or its device's egress root.
  if ('passthrough' in command && command.ffffOf === undefined) return runSystemTc(argv, command.reason);
  let reply: TcReply;
  try {
    reply = (await request(client.runDir, { op: 'tc', argv }, client.timeoutMs)).reply as TcReply;
  } catch (e) {
    if (!(e instanceof PspatError)) throw e;
    if ('passthrough' in command) return runSystemTc(argv, command.reason);
    process.stderr.write(`pspat tc: ${e.message}\n`);
    return 1;
  }
  if ('passthrough' in reply) return runSystemTc(argv, reply.reason);
  if (reply.managed) reply.stdout = mergeWithSystem(argv, { stdout: reply.stdout, managed: reply.managed }, parsed.flags.json);
  process.stdout.write(reply.stdout);
  process.stderr.write(reply.stderr);
  return reply.exitCode;
}
