// Closed-loop peak load (wrk, else autocannon) and open-loop constant-rate load (rate-load.ts).
import { fileURLToPath } from 'node:url';
import { onPath, runToCompletion } from './procs.ts';
import { pinned } from './cpu-pin.ts';

export interface PeakResult {
  requests: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Socket errors and timeouts. */
  errors: number;
  non2xx: number;
}

export interface RateResult {
  targetRps: number;
  achievedRps: number;
  completed: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

export function peakGenerator(): 'wrk' | 'autocannon' {
  return onPath('wrk') ? 'wrk' : 'autocannon';
}

function parseMarked<T>(stdout: string): T {
  const line = stdout.split('\n').find((l) => l.startsWith('BENCH_JSON '));
  if (!line) throw new Error(`load generator printed no result:\n${stdout}`);
  return JSON.parse(line.slice('BENCH_JSON '.length)) as T;
}

/** `headers` go on every request (e.g. the bearer token of the secured variants). */
export async function runPeak(
  url: string,
  durationS: number,
  connections: number,
  headers: Record<string, string> = {},
): Promise<PeakResult> {
  const args =
    peakGenerator() === 'wrk'
      ? ([
          'wrk',
          [
            '-t1',
            `-c${connections}`,
            `-d${durationS}s`,
            '--timeout',
            '5s',
            ...Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]),
            '-s',
            here('./wrk-report.lua'),
            url,
          ],
        ] as const)
      : ([
          process.execPath,
          [here('./autocannon-load.ts'), url, String(connections), String(durationS), JSON.stringify(headers)],
        ] as const);
  const raw = parseMarked<{
    requests: number;
    durationUs: number;
    p50Us: number;
    p99Us: number;
    errors: number;
    non2xx: number;
  }>(await runToCompletion(...pinned('support', args[0], [...args[1]])));
  return {
    requests: raw.requests,
    rps: raw.requests / (raw.durationUs / 1e6),
    p50Ms: raw.p50Us / 1000,
    p99Ms: raw.p99Us / 1000,
    errors: raw.errors,
    non2xx: raw.non2xx,
  };
}

export async function runRate(
  url: string,
  rps: number,
  connections: number,
  durationS: number,
  warmupS: number,
): Promise<RateResult> {
  const out = await runToCompletion(
    ...pinned('support', process.execPath, [
      here('./rate-load.ts'),
      url,
      String(Math.round(rps)),
      String(connections),
      String(durationS),
      String(warmupS),
    ]),
  );
  return parseMarked<RateResult>(out);
}

export interface CountResult {
  requests: number;
  errors: number;
  non2xx: number;
}

/** Exactly `amount` requests over `connections` (autocannon), however long they take: the instruction counts divide by
 * it. */
export async function runCount(
  url: string,
  amount: number,
  connections: number,
  headers: Record<string, string> = {},
): Promise<CountResult> {
  const raw = parseMarked<CountResult>(
    await runToCompletion(process.execPath, [
      here('./autocannon-load.ts'),
      url,
      String(connections),
      '0',
      JSON.stringify(headers),
      String(amount),
    ]),
  );
  return { requests: raw.requests, errors: raw.errors, non2xx: raw.non2xx };
}
