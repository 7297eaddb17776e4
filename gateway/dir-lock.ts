import { mkdirSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { join, resolve } from 'node:path';

/** The lock: a Unix socket in the directory, listened on by the gateway that holds it. */
export const LOCK_NAME = '.tollgate.lock';

/** Longest socket path the platforms take (sun_path is 104 bytes on macOS, 108 on Linux, with its NUL). */
const MAX_SOCKET_PATH = 103;

export class DirInUseError extends Error {
  constructor(field: string, dir: string, hint: string) {
    super(`${field} ${dir} is in use by another running Tollgate: ${hint}`);
    this.name = 'DirInUseError';
  }
}

/** A held lock; release lets the next gateway take the directory. */
export interface DirLock {
  dir: string;
  release(): Promise<void>;
}

/**
 * Claims `dir` for this gateway. Two gateways writing one event log, one
 * aggregate store or one config history would lose or double-count events
 * and interleave versions, so a second refuses to start, naming the setting
 * (`field`). The lock is a Unix socket that this process listens on: the
 * kernel drops it when the process dies, however it dies, so a crash leaves
 * nothing to clean up (the file a dead gateway leaves refuses connections and
 * is replaced). Undefined, with no lock, when the socket's path would be too
 * long for the platform (`onSkipped` says so).
 */
export async function lockDir(dir: string, field: string, hint: string, onSkipped?: (path: string) => void): Promise<DirLock | undefined> {
  const abs = resolve(dir);
  mkdirSync(abs, { recursive: true });
  const path = join(abs, LOCK_NAME);
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH) {
    onSkipped?.(path);
    return undefined;
  }
  let server: Server;
  try {
    server = await listen(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    if (await answers(path)) throw new DirInUseError(field, abs, hint);
    // Left by a gateway that is gone. Two gateways that find the same stale file at the same moment can both get
    // here, and the later unlink removes the earlier one's socket: both then start. That needs two starts within
    // milliseconds of each other on a directory a killed gateway left; a live holder is always refused.
    try { unlinkSync(path); } catch { /* already gone */ }
    try {
      server = await listen(path);
    } catch (again) {
      if ((again as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new DirInUseError(field, abs, hint);
      throw again;
    }
  }
  server.unref();
  // A gateway asking whether the directory is taken gets its answer from the connection itself.
  server.on('connection', (s) => s.destroy());
  return { dir: abs, release: () => new Promise<void>((r) => server.close(() => r())) };
}

function listen(path: string): Promise<Server> {
  return new Promise((resolvePromise, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolvePromise(server);
    });
  });
}

/** Whether a live process listens on the socket (a stopped one still has the kernel accept for it). */
function answers(path: string): Promise<boolean> {
  return new Promise((r) => {
    const s = createConnection(path);
    const done = (v: boolean) => { s.destroy(); r(v); };
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
    // A backlog too full to accept is still a live listener.
    s.setTimeout(2000, () => done(true));
  });
}

const HINT = 'give each gateway its own store.dir and events.dir (TOLLGATE_STORE_DIR, TOLLGATE_EVENTS_DIR)';

/**
 * Locks the directories a gateway writes alone (lockDir): a file config
 * store's `store.dir` (history, apps and keys) and `events.dir` (the event
 * log and aggregates, or the Kafka spool). Held by the process that opens
 * them: the single process, or the primary with workers.
 */
export async function lockDataDirs(config: { store: { kind?: string; dir: string }; events: { sink: string; dir: string } }, warn: (msg: string) => void): Promise<{ release(): Promise<void> }> {
  const wanted: [string, string][] = [];
  if (config.store.kind !== 'redis') wanted.push(['store.dir', config.store.dir]);
  if (config.events.sink !== 'none') wanted.push(['events.dir', config.events.dir]);
  const held: DirLock[] = [];
  const release = async () => { await Promise.all(held.splice(0).map((l) => l.release())); };
  try {
    for (const [field, dir] of wanted) {
      if (held.some((l) => l.dir === resolve(dir))) continue;
      const lock = await lockDir(dir, field, HINT, (path) => warn(`${field}: the lock ${path} is too long a socket path; nothing stops a second gateway from using this directory`));
      if (lock) held.push(lock);
    }
  } catch (err) {
    await release();
    throw err;
  }
  return { release };
}
