// With pinning, the server under test owns the last CPU and the load
// generator and upstream share the rest, so every competitor gets exactly one
// core and the scheduler cannot move work between them. It needs CPUs to
// spare: on 2 CPUs wrk + upstream on one core cap the faster proxies (nginx),
// so it is on by default only from 4 CPUs. BENCH_PIN=1 forces it, BENCH_PIN=0 disables it.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
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
  const support = cpuCount === 2 ? '0' : `0-${cpuCount - 2}`;
  if (role === 'server') moveServicesOff(support);
  return ['taskset', ['-c', role === 'server' ? String(cpuCount - 1) : support, cmd, ...args]];
}

export function pinningNote(): string {
  if (!pinning) return 'no CPU pinning';
  const services = servicePids().length > 0 ? ' + services' : '';
  return `server pinned to CPU ${cpuCount - 1}, load + upstream${services} on the rest`;
}

const SERVICES_DIR = fileURLToPath(new URL('../../.services/', import.meta.url));
let servicesOff = false;

/**
 * The project's own services (`npm run services:up`: Kafka, ClickHouse, Redis, etcd, Jaeger, chDB) ran on the
 * server's CPU whenever the scheduler put them there, the Kafka broker alone ~4% of a core while idle and more
 * while the Kafka sink feeds it, which the server's own pinning does not prevent. From the first pinned server on,
 * each process named by a pid file under .services/ runs on the support CPUs, all its threads; each gets its own
 * affinity back when the bench exits (a bench killed by SIGKILL leaves them there until `npm run services:up`
 * starts them again).
 */
function moveServicesOff(support: string): void {
  if (servicesOff) return;
  servicesOff = true;
  const moved: Array<[pid: string, mask: string]> = [];
  for (const pid of servicePids()) {
    try {
      // "pid 5077's current affinity mask: 3"
      const mask = execFileSync('taskset', ['-p', pid], { encoding: 'utf8' }).trim().split(/\s+/).pop()!;
      execFileSync('taskset', ['-a', '-p', '-c', support, pid], { stdio: 'ignore' });
      moved.push([pid, mask]);
    } catch {
      // Gone meanwhile, or not ours to move: it stays where it is.
    }
  }
  process.on('exit', () => {
    for (const [pid, mask] of moved) {
      try {
        execFileSync('taskset', ['-a', '-p', mask, pid], { stdio: 'ignore' });
      } catch {
        // Gone meanwhile.
      }
    }
  });
}

/** The live pids in .services/<service>/*.pid. */
function servicePids(): string[] {
  if (!existsSync(SERVICES_DIR)) return [];
  const pids: string[] = [];
  for (const dir of readdirSync(SERVICES_DIR, { withFileTypes: true })) {
    if (!dir.isDirectory()) continue;
    for (const file of readdirSync(join(SERVICES_DIR, dir.name)).filter((f) => f.endsWith('.pid'))) {
      const pid = readFileSync(join(SERVICES_DIR, dir.name, file), 'utf8').trim();
      if (/^\d+$/.test(pid) && existsSync(`/proc/${pid}`)) pids.push(pid);
    }
  }
  return pids;
}
