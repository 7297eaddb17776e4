// What the etcd and Consul helpers share: a registry server spawned by a test, up once an HTTP check passes, and
// killed hard (SIGKILL) so a test sees what a crash looks like.
import { type ChildProcess, spawn } from 'node:child_process';
import { eventually } from './gateway.ts';

export interface RegistryProcess {
  /** Starts it (again) and waits until `ready` answers true. */
  start(): Promise<void>;
  /** SIGKILL, and waits for the exit; nothing when it is not running. */
  kill(): Promise<void>;
  signal(signal: 'SIGSTOP' | 'SIGCONT'): void;
}

export function registryProcess(
  name: string,
  command: string,
  args: string[],
  ready: () => Promise<boolean>,
  timeoutMs: number,
): RegistryProcess {
  let proc: ChildProcess | undefined;
  return {
    async start() {
      proc = spawn(command, args, { stdio: 'ignore' });
      const ok = await eventually(() => ready().catch(() => false), timeoutMs);
      if (!ok) throw new Error(`${name} did not start within ${timeoutMs} ms`);
    },
    async kill() {
      const p = proc;
      if (p === undefined || p.exitCode !== null || p.signalCode !== null) return;
      const exited = new Promise((r) => p.once('exit', r));
      p.kill('SIGKILL');
      await exited;
    },
    signal(signal) {
      proc?.kill(signal);
    },
  };
}
