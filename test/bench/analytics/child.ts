// Child processes of the analytics benchmarks, each in its own process group
// (so taskset, node and anything they start get one signal), killed when the
// bench exits however it exits.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';

const live = new Set<number>();
let hooked = false;

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: already gone.
  }
}

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const pgid of live) killGroup(pgid, 'SIGKILL');
  });
}

/** Spawns with its own env; stdout/stderr piped to the caller, or appended to logFile. */
export function spawnChild(cmd: string, args: string[], env: NodeJS.ProcessEnv, logFile?: string): ChildProcess {
  hookExit();
  const fd = logFile ? openSync(logFile, 'a') : undefined;
  const child = spawn(cmd, args, {
    env,
    detached: true,
    stdio: fd === undefined ? ['ignore', 'pipe', 'pipe'] : ['ignore', fd, fd],
  });
  if (fd !== undefined) closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start ${cmd}`);
  live.add(child.pid);
  return child;
}

/** SIGTERM the group, wait up to graceMs for the child to exit, then SIGKILL what is left. */
export async function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  const pgid = child.pid;
  if (pgid === undefined) return;
  if (child.exitCode === null && child.signalCode === null) {
    killGroup(pgid, 'SIGTERM');
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, graceMs);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
  killGroup(pgid, 'SIGKILL');
  live.delete(pgid);
}
