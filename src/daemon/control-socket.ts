/**
 * The daemon's control socket: a Unix-domain stream socket in the run directory (the
 * directory 0700, the socket 0600), speaking one JSON object per line each way.
 *
 *   → {"v":1,"op":"tc","argv":["qdisc","add","dev","eth0",...]}
 *   ← {"v":1,"ok":true,"reply":{"exitCode":0,"stdout":"","stderr":""}}
 *   → {"v":1,"op":"config"}            ← {"v":1,"ok":true,"config":{...}}
 *   → {"v":1,"op":"stats"}             ← {"v":1,"ok":true,"run":{...}}   (a RUN.json run)
 *   → {"v":1,"op":"ping"}              ← {"v":1,"ok":true}
 *   anything else                       ← {"v":1,"ok":false,"error":"what was wrong"}
 *
 * Only root (or the daemon's own user) may talk to it: the peer's uid comes from
 * SO_PEERCRED (the native addon) and any other peer gets one error line and is cut off.
 * A line that is not JSON, names an unknown op or version, or runs past MAX_REQUEST
 * bytes gets an error reply; the daemon's state is untouched and the connection is
 * closed only for the oversized one (there is no telling where its next line starts).
 *
 * A connection costs bounded memory whatever its peer does: at most MAX_QUEUED requests
 * are taken in and not yet answered, and while more than MAX_UNSENT bytes of replies wait
 * for the peer to read them, nothing more is read from it (backpressure); a peer that
 * reads nothing for STUCK_MS meanwhile is cut off.
 */
import { chmodSync, existsSync, linkSync, renameSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { PspatError } from '../errors.js';
import { tryNativeAddon } from '../transmit/native.js';
import { secureRunDir } from './run-dir.js';

export const PROTOCOL_VERSION = 1;
/** Longest request line accepted, bytes. */
export const MAX_REQUEST = 64 * 1024;
/** Requests read from one connection and not yet answered, at most. */
export const MAX_QUEUED = 64;
/** Reply bytes waiting for a peer to read them, past which its connection is not read. */
export const MAX_UNSENT = 1 << 20;
/** A peer that leaves MAX_UNSENT unread this long is cut off. */
export const STUCK_MS = 10_000;
export const DEFAULT_RUN_DIR = '/run/pspat';
export const SOCKET_NAME = 'pspat.sock';

export function socketPath(runDir: string): string {
  return join(runDir, SOCKET_NAME);
}

/** The run directory: PSPAT_RUN_DIR, else /run/pspat. */
export function defaultRunDir(): string {
  return process.env.PSPAT_RUN_DIR || DEFAULT_RUN_DIR;
}

export type Handler = (req: Record<string, unknown>) => Promise<Record<string, unknown>>;

export class DaemonNotRunningError extends PspatError {
  constructor(path: string) {
    super(
      'ERR_PSPAT_NO_DAEMON',
      `no daemon is running (no control socket at ${path}); start one with: pspat daemon${path === socketPath(DEFAULT_RUN_DIR) ? '' : ` --run-dir ${path.slice(0, -SOCKET_NAME.length - 1)}`}`,
    );
  }
}

/** uid of the socket's peer, or undefined when the addon that reads it is missing. */
function peerUid(socket: Socket): number | undefined {
  const addon = tryNativeAddon();
  // net.Socket keeps its descriptor on the libuv handle; there is no public accessor.
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (!addon || fd === undefined || fd < 0) return undefined;
  const out = new Int32Array(3);
  return addon.peerCredentials(fd, out) === 0 ? out[1] : undefined;
}

export class ControlServer {
  private constructor(
    private readonly server: Server,
    private readonly connections: Set<Socket>,
    readonly path: string,
    /** False when peer credentials cannot be read (no addon): the 0600 socket in a 0700 directory is then the only guard. */
    readonly checksPeers: boolean,
    /** The inode of the socket this process created: only that one is removed at close. */
    private readonly inode: number,
  ) {}

  /** Listens at `runDir`/pspat.sock; refuses to start beside a live daemon, replaces a stale socket. */
  static async listen(runDir: string, handle: Handler): Promise<ControlServer> {
    secureRunDir(runDir);
    const path = socketPath(runDir);
    if (existsSync(path)) {
      if (await isAlive(path)) throw new PspatError('ERR_PSPAT_DAEMON_RUNNING', `a daemon is already running (control socket ${path})`);
      unlinkSync(path);
    }
    const allowed = new Set([0, process.geteuid?.() ?? 0]);
    const connections = new Set<Socket>();
    const server = createServer((socket) => {
      connections.add(socket);
      socket.once('close', () => connections.delete(socket));
      serve(socket, handle, allowed);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => resolve());
    });
    chmodSync(path, 0o600);
    return new ControlServer(server, connections, path, tryNativeAddon() !== null, statSync(path).ino);
  }

  /** Stops listening and cuts every open connection (a stalled client must not hold up a shutdown). */
  async close(): Promise<void> {
    // A newer daemon may have replaced the socket (this one's was removed by hand): leave
    // its socket alone. libuv unlinks the listening path by name when the server closes,
    // so a socket that is not ours is kept under a second name meanwhile and put back.
    const kept = `${this.path}.${process.pid}.keep`;
    // Where this process may not write the directory (`--user` without CAP_DAC_OVERRIDE),
    // libuv cannot unlink anything either: nothing to keep, nothing to remove.
    const theirs = this.socketIsTheirs() && attempt(() => linkSync(this.path, kept));
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const c of this.connections) c.destroy();
    await closed;
    if (theirs) renameSync(kept, this.path);
    else attempt(() => rmSync(this.path, { force: true }));
  }

  /** True when a socket at our path exists and is not the one this process created. */
  private socketIsTheirs(): boolean {
    try {
      return statSync(this.path).ino !== this.inode;
    } catch {
      return false;
    }
  }
}

/** Runs `f`; false if it threw. */
function attempt(f: () => void): boolean {
  try {
    f();
    return true;
  } catch {
    return false;
  }
}

function send(socket: Socket, msg: Record<string, unknown>): void {
  if (!socket.destroyed) socket.write(`${JSON.stringify({ v: PROTOCOL_VERSION, ...msg })}\n`);
}

/** Says a last thing and closes, discarding whatever the peer still sends. */
function hangUp(socket: Socket, msg: Record<string, unknown>): void {
  send(socket, msg);
  socket.removeAllListeners('data');
  socket.resume();
  socket.end();
}

function serve(socket: Socket, handle: Handler, allowed: Set<number>): void {
  socket.on('error', () => socket.destroy());
  const uid = peerUid(socket);
  if (uid !== undefined && !allowed.has(uid)) {
    hangUp(socket, { ok: false, error: `permission denied: the pspat daemon takes commands from root only (peer uid ${uid})` });
    return;
  }
  let buffered = '';
  // Requests on one connection are answered in order, one at a time.
  let chain = Promise.resolve();
  let queued = 0;
  let stuck: NodeJS.Timeout | undefined;
  /** Reads on only while the peer keeps up: few requests queued, few reply bytes unread. */
  const throttle = (): void => {
    const unread = socket.writableLength >= MAX_UNSENT;
    if (unread && stuck === undefined) stuck = setTimeout(() => socket.destroy(), STUCK_MS);
    if (!unread && stuck !== undefined) {
      clearTimeout(stuck);
      stuck = undefined;
    }
    if (unread || queued >= MAX_QUEUED) socket.pause();
    else if (socket.isPaused()) socket.resume();
  };
  /** Takes whole lines off the buffer while there is room in the queue. */
  const pump = (): void => {
    for (let nl = buffered.indexOf('\n'); nl >= 0 && queued < MAX_QUEUED; nl = buffered.indexOf('\n')) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line.trim() === '') continue;
      queued++;
      chain = chain
        .then(() => answer(socket, line, handle))
        .finally(() => {
          queued--;
          pump();
        });
    }
    throttle();
  };
  socket.on('drain', throttle);
  socket.once('close', () => clearTimeout(stuck));
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    pump();
    if (buffered.length > MAX_REQUEST && buffered.indexOf('\n') < 0) {
      buffered = '';
      chain = chain.then(() => hangUp(socket, { ok: false, error: `request too large (over ${MAX_REQUEST} bytes without a newline)` }));
    }
  });
}

async function answer(socket: Socket, line: string, handle: Handler): Promise<void> {
  if (line.length > MAX_REQUEST) {
    send(socket, { ok: false, error: `request too large (over ${MAX_REQUEST} bytes)` });
    return;
  }
  let req: unknown;
  try {
    req = JSON.parse(line);
  } catch {
    send(socket, { ok: false, error: 'bad request: not a JSON object' });
    return;
  }
  if (typeof req !== 'object' || req === null || Array.isArray(req)) {
    send(socket, { ok: false, error: 'bad request: not a JSON object' });
    return;
  }
  const r = req as Record<string, unknown>;
  if (r.v !== PROTOCOL_VERSION) {
    send(socket, { ok: false, error: `bad request: protocol version ${JSON.stringify(r.v)} (this daemon speaks ${PROTOCOL_VERSION})` });
    return;
  }
  try {
    send(socket, { ok: true, ...(await handle(r)) });
  } catch (e) {
    send(socket, { ok: false, error: e instanceof PspatError ? e.message : `internal error: ${(e as Error).message}` });
  }
}

function isAlive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection(path);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

/** How long a client waits for the daemon's reply by default (a stopped or hung daemon must not hang its callers). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 5000;

/**
 * Sends one request to the daemon at `runDir` and returns its reply (throws with the
 * daemon's error, or after `timeoutMs` without a reply).
 */
export function request(runDir: string, req: Record<string, unknown>, timeoutMs = DEFAULT_REQUEST_TIMEOUT_MS): Promise<Record<string, unknown>> {
  const path = socketPath(runDir);
  return new Promise((resolve, reject) => {
    const c = createConnection(path);
    c.setTimeout(timeoutMs, () => {
      c.destroy();
      reject(
        new PspatError(
          'ERR_PSPAT_TIMEOUT',
          `control socket ${path}: no reply from the daemon within ${timeoutMs / 1000} s (is it stopped or hung? --timeout sets the wait)`,
        ),
      );
    });
    let buffered = '';
    c.setEncoding('utf8');
    c.once('error', (e: NodeJS.ErrnoException) => {
      reject(
        e.code === 'ENOENT' || e.code === 'ECONNREFUSED'
          ? new DaemonNotRunningError(path)
          : new PspatError('ERR_PSPAT_CONTROL', `control socket ${path}: ${e.message}`),
      );
    });
    c.on('data', (chunk: string) => {
      buffered += chunk;
      const nl = buffered.indexOf('\n');
      if (nl < 0) return;
      c.destroy();
      const reply = JSON.parse(buffered.slice(0, nl)) as Record<string, unknown>;
      if (reply.ok === true) resolve(reply);
      else reject(new PspatError('ERR_PSPAT_DAEMON', String(reply.error)));
    });
    c.once('close', () => reject(new PspatError('ERR_PSPAT_CONTROL', `control socket ${path}: the daemon closed the connection`)));
    c.write(`${JSON.stringify({ v: PROTOCOL_VERSION, ...req })}\n`);
  });
}
