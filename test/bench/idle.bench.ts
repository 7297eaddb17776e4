/**
 * What a gateway with no traffic costs: Tollgate with the default embedded events (collector thread included) and no
 * active health checks, left idle, its CPU time read per thread from /proc/PID/task/* over BENCH_IDLE_S seconds
 * (default 60) after 10 s to settle. Prints each thread's share of one core. docs/analytics.md quotes the collector's.
 * Run: node test/bench/idle.bench.ts (after npm run build)
 */
import { readdirSync, readFileSync } from 'node:fs';
import { cpuTicks } from './proc-tree.ts';
import { installCleanup } from './procs.ts';
import { newWorkDir, startUpstream, tollgateVariant } from './servers.ts';

const seconds = Number(process.env.BENCH_IDLE_S ?? 60);

/** CPU ticks (10 ms) used so far, summed per thread name. */
function threadTicks(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
    out.set(name, (out.get(name) ?? 0) + cpuTicks(`/proc/${pid}/task/${tid}/stat`));
  }
  return out;
}

installCleanup();
const workDir = newWorkDir();
const upstream = await startUpstream(workDir);
const gateway = await tollgateVariant('tollgate-idle', { sink: 'embedded' }, undefined, (config) => {
  for (const service of config.services) delete service.upstream.health;
}).start(new URL(upstream.url).origin, workDir);
try {
  await new Promise((resolve) => setTimeout(resolve, 10_000));
  const before = threadTicks(gateway.pid);
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const after = threadTicks(gateway.pid);
  let total = 0;
  console.log(`Idle gateway (embedded events, no health checks), CPU over ${seconds} s, % of one core:`);
  for (const [name, ticks] of [...after].sort((a, b) => a[0].localeCompare(b[0]))) {
    const used = ticks - (before.get(name) ?? 0);
    total += used;
    if (used > 0) console.log(`  ${name.padEnd(18)} ${(used / seconds).toFixed(2)}%`);
  }
  console.log(`  ${'all threads'.padEnd(18)} ${(total / seconds).toFixed(2)}%`);
} finally {
  await gateway.stop();
  await upstream.stop();
}
