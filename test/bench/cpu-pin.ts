// With pinning, the server under test owns the last CPU and the load
// generator and upstream share the rest, so every competitor gets exactly one
// core and the scheduler cannot move work between them. It needs CPUs to
// spare: on 2 CPUs wrk + upstream on one core cap the faster proxies (nginx),
// so it is on by default only from 4 CPUs. BENCH_PIN=1 forces it, BENCH_PIN=0 disables it.
import { cpus } from 'node:os';
import { onPath } from './procs.ts';

export type Role = 'server' | 'support';

const cpuCount = cpus().length;
const wanted = process.env.BENCH_PIN === undefined ? cpuCount >= 4 : process.env.BENCH_PIN === '1';
export let pinning = wanted && cpuCount >= 2 && onPath('taskset');

/** Pins from here on whatever the CPU count (the side-by-side CPU mode needs it); BENCH_PIN=0 still disables it. */
export function pinFromNowOn(): boolean {
  if (process.env.BENCH_PIN !== '0') pinning = cpuCount >= 2 && onPath('taskset');
  return pinning;
}

/** The command to spawn so that it runs on its role's CPUs; taskset execs in place, so the pid is the server's. */
export function pinned(role: Role, cmd: string, args: string[]): [string, string[]] {
  if (!pinning) return [cmd, args];
  const list = role === 'server' ? String(cpuCount - 1) : cpuCount === 2 ? '0' : `0-${cpuCount - 2}`;
  return ['taskset', ['-c', list, cmd, ...args]];
}

export function pinningNote(): string {
  return pinning ? `server pinned to CPU ${cpuCount - 1}, load + upstream on the rest` : 'no CPU pinning';
}
