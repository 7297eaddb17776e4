// Load generators and processes for the protocol benchmarks (run.ts): ghz for gRPC, h2load for HTTP/2.
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { onPath, runToCompletion, spawnTracked, stopTracked, logExcerpt, hasExited } from '../procs.ts';
import { pinned } from '../cpu-pin.ts';
import { tcpConnects } from '../ready.ts';
import { repoRoot } from '../servers.ts';

export const ghzBin = process.env.TOLLGATE_BENCH_GHZ ?? join(repoRoot, '.services/bin/ghz');
export const ECHO_PROTO = join(repoRoot, 'gateway/examples/grpc/echo.proto');

export interface Running {
  name: string;
  pid: number;
  stop(): Promise<void>;
}

/** Starts `cmd` in its own process group (log in workDir) and waits until every port accepts connections. */
export async function startProcess(
  name: string,
  cmd: string,
  args: string[],
  ports: number[],
  workDir: string,
  role: 'server' | 'support' = 'server',
): Promise<Running> {
  const logFile = join(workDir, `${name}.log`);
  const child = spawnTracked(...pinned(role, cmd, args), { logFile, cwd: repoRoot });
  const deadline = Date.now() + 15_000;
  for (const port of ports) {
    while (!(await tcpConnects(port))) {
      if (hasExited(child) || Date.now() > deadline) {
        await stopTracked(child);
        throw new Error(`${name} did not listen on ${port}\n--- ${logFile} ---\n${logExcerpt(logFile)}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { name, pid: child.pid as number, stop: () => stopTracked(child) };
}

export interface GhzResult {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  ok: number;
  /** Calls that did not end OK, the ones cut at the end of the run (ghz cancels them: Unavailable) aside. */
  failed: number;
}

/**
 * ghz unary SayHello calls at 127.0.0.1:port over one connection, `concurrency` in flight, for `durationS`;
 * `rps` makes it a constant rate instead of as fast as the server answers.
 */
export async function ghz(port: number, durationS: number, concurrency: number, rps?: number): Promise<GhzResult> {
  const args = [
    '--insecure',
    '--proto',
    ECHO_PROTO,
    '--call',
    'helloworld.Greeter.SayHello',
    '-d',
    '{"name":"bench"}',
    '-c',
    String(concurrency),
    '-z',
    `${durationS}s`,
    '-O',
    'json',
    ...(rps ? ['--rps', String(Math.round(rps))] : []),
    `127.0.0.1:${port}`,
  ];
  const r = JSON.parse(await runToCompletion(...pinned('support', ghzBin, args))) as {
    rps: number;
    count: number;
    statusCodeDistribution: Record<string, number>;
    latencyDistribution: { percentage: number; latency: number }[] | null;
  };
  const at = (p: number) => (r.latencyDistribution?.find((d) => d.percentage === p)?.latency ?? 0) / 1e6;
  const ok = r.statusCodeDistribution.OK ?? 0;
  const cut = Math.min(r.statusCodeDistribution.Unavailable ?? 0, concurrency);
  return { rps: r.rps, p50Ms: at(50), p99Ms: at(99), ok, failed: r.count - ok - cut };
}

export interface H2loadResult {
  rps: number;
  failed: number;
}

/** h2load: `clients` connections with `streams` requests in flight on each, for `durationS`. */
export async function h2load(url: string, durationS: number, clients: number, streams: number): Promise<H2loadResult> {
  const out = await runToCompletion(
    ...pinned('support', 'h2load', ['-D', String(durationS), '-c', String(clients), '-m', String(streams), url]),
  );
  // "finished in 10.00s, 41234.50 req/s, ..." and "requests: N total, N started, N done, N succeeded, N failed, ..."
  const rps = Number(/finished in [\d.]+s, ([\d.]+) req\/s/.exec(out)?.[1]);
  const failed = Number(/requests: .*?(\d+) failed/.exec(out)?.[1] ?? 0);
  if (!Number.isFinite(rps)) throw new Error(`h2load printed no rate:\n${out}`);
  return { rps, failed };
}

/** Why a protocol bench cannot run here, or undefined. */
export function missingTools(): string | undefined {
  const missing = [
    ['ghz', onPath('ghz') || isExecutable(ghzBin)],
    ['h2load', onPath('h2load')],
    ['wrk', onPath('wrk')],
    ['nginx', onPath('nginx')],
  ]
    .filter(([, ok]) => !ok)
    .map(([name]) => name);
  return missing.length > 0 ? `${missing.join(', ')} missing: npm run services:up installs them` : undefined;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
