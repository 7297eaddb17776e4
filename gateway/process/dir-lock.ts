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
export async function lockDir(
  dir: string,
  field: string,
  hint: string,
  onSkipped?: (path: string) => void,
): Promise<DirLock | undefined> {
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
    server = await takeOver(path, () => new DirInUseError(field, abs, hint));
  }
  server.unref();
  // A gateway asking whether the directory is taken gets its answer from the connection itself.
  server.on('connection', (s) => s.destroy());
  return { dir: abs, release: () => new Promise<void>((r) => server.close(() => r())) };
}

/**
 * Replaces a lock file a gateway that is gone left behind. Unlinking it is
 * the unsafe step: two gateways that found it at once would each unlink and
 * listen, the later unlink removing the earlier one's socket, and both would
 * start. On Linux the takeover holds an abstract socket named after the lock
 * (`\0` + its path), which only one process can listen on and which the kernel
 * frees when that process dies, so it is never left stale itself: the other
 * gateway is refused, or finds the new holder answering. Abstract names are
 * per network namespace, so two containers sharing the directory are not
 * serialised this way; elsewhere the race remains.
 */
async function takeOver(path: string, inUse: () => DirInUseError): Promise<Server> {
  let mutex: Server | undefined;
  if (process.platform === 'linux') {
    try {
      mutex = await listen(`\0${path}`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') throw inUse();
      throw err;
    }
  }
  try {
    // Another gateway may have taken it over between our look and the mutex.
    if (mutex !== undefined && (await answers(path))) throw inUse();
    try {
      unlinkSync(path);
    } catch {
      /* already gone */
    }
    try {
      return await listen(path);
    } catch (again) {
      if ((again as NodeJS.ErrnoException).code === 'EADDRINUSE') throw inUse();
      throw again;
    }
  } finally {
    await new Promise<void>((r) => (mutex ? mutex.close(() => r()) : r()));
  }
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
    const done = (v: boolean) => {
      s.destroy();
      r(v);
    };
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
    // A backlog too full to accept is still a live listener.
    s.setTimeout(2000, () => done(true));
  });
}

const HINT = 'give each gateway its own store.dir and events.dir (TOLLGATE_STORE_DIR, TOLLGATE_EVENTS_DIR)';

type DataDirs = { store: { kind?: string; dir: string }; events: { sink: string; dir: string } };

/**
 * Held data directories. `runWith` moves them to those of the config the gateway runs with (a node joining a
 * cluster adopts the cluster's): it locks those not held yet and lets go of the rest, which it does not use.
 */
export interface DataDirLocks {
  runWith(config: DataDirs): Promise<void>;
  release(): Promise<void>;
}

/**
 * Locks the directories a gateway writes alone (lockDir): a file config
 * store's `store.dir` (history, apps and keys) and `events.dir` (the event
 * log and aggregates, or the Kafka spool). Held by the process that opens
 * them: the single process, or the primary with workers.
 */
export async function lockDataDirs(config: DataDirs, warn: (msg: string) => void): Promise<DataDirLocks> {
  const held: DirLock[] = [];
  const release = async () => {
    await Promise.all(held.splice(0).map((l) => l.release()));
  };
  const lockAll = async (c: DataDirs) => {
    const wanted: [string, string][] = [];
    if (c.store.kind !== 'redis') wanted.push(['store.dir', c.store.dir]);
    if (c.events.sink !== 'none') wanted.push(['events.dir', c.events.dir]);
    for (const [field, dir] of wanted) {
      if (held.some((l) => l.dir === resolve(dir))) continue;
      const lock = await lockDir(dir, field, HINT, (path) =>
        warn(
          `${field}: the lock ${path} is too long a socket path; ` +
            `nothing stops a second gateway from using this directory`,
        ),
      );
      if (lock) held.push(lock);
    }
    return wanted.map(([, dir]) => resolve(dir));
  };
  const runWith = async (c: DataDirs) => {
    const used = await lockAll(c);
    const unused = held.filter((l) => !used.includes(l.dir));
    for (const l of unused) held.splice(held.indexOf(l), 1);
    await Promise.all(unused.map((l) => l.release()));
  };
  try {
    await lockAll(config);
  } catch (err) {
    await release();
    throw err;
  }
  return { runWith, release };
}
