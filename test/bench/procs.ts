// Every process the bench starts lives in its own process group so that one
// signal also reaches its children (nginx workers, gateway workers); all
// groups are killed on exit, error and Ctrl-C.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants, openSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';

const liveGroups = new Set<number>();

export interface SpawnOptions {
  /** Append stdout and stderr here; omit to pipe them to the caller. */
  logFile?: string;
  cwd?: string;
}

export function spawnTracked(cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
  const fd = opts.logFile ? openSync(opts.logFile, 'a') : undefined;
  const child = spawn(cmd, args, {
    cwd: opts.cwd,
    detached: true,
    stdio: fd === undefined ? ['ignore', 'pipe', 'pipe'] : ['ignore', fd, fd],
  });
  if (fd !== undefined) closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start ${cmd}`);
  liveGroups.add(child.pid);
  return child;
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

export function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

export function waitExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (hasExited(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** SIGTERM the group, SIGKILL whatever is left after graceMs. */
export async function stopTracked(child: ChildProcess, graceMs = 3000): Promise<void> {
  const pgid = child.pid;
  if (pgid === undefined) return;
  signalGroup(pgid, 'SIGTERM');
  await waitExit(child, graceMs);
  signalGroup(pgid, 'SIGKILL');
  liveGroups.delete(pgid);
}

function killAllSync(): void {
  for (const pgid of liveGroups) signalGroup(pgid, 'SIGKILL');
  liveGroups.clear();
}

export function installCleanup(): void {
  process.on('exit', killAllSync);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      console.error(`\nbench: ${signal}, stopping every started process`);
      killAllSync();
      process.exit(130);
    });
  }
}

export function onPath(cmd: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    try {
      accessSync(join(dir, cmd), constants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

/** Collects a child's stdout and resolves with it when the child exits with 0. */
export async function runToCompletion(cmd: string, args: string[]): Promise<string> {
  const child = spawnTracked(cmd, args);
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => {
    out += s;
  });
  child.stderr?.setEncoding('utf8').on('data', (s: string) => {
    err += s;
  });
  const code: number | null = await new Promise((resolve) => child.once('close', resolve));
  if (child.pid !== undefined) liveGroups.delete(child.pid);
  if (code !== 0) throw new Error(`${cmd} exited with ${code}: ${err.trim() || out.trim()}`);
  return out;
}

/** A log's first and last lines: a Node crash puts its message at the top and the context at the bottom. */
export function logExcerpt(file: string, edgeLines = 8): string {
  try {
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    if (lines.length <= edgeLines * 2) return lines.join('\n');
    return [...lines.slice(0, edgeLines), '  ...', ...lines.slice(-edgeLines)].join('\n');
  } catch {
    return '(no log)';
  }
}
