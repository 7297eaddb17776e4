// The bench's targets: each figure against its target, judged on its confidence interval when it is a median of rounds.
import {
  describe,
  fixed,
  medianEstimate,
  p99Differences,
  pairedRatios,
  roundRatios,
  type HalfLoad,
  type Paired,
  type PeakRow,
} from './report.ts';

export interface Check {
  name: string;
  value?: number;
  /** The value's confidence interval, when it is a median of rounds: the verdict is judged on it. */
  interval?: [number, number];
  target?: { op: '>=' | '<=' | '<'; limit: number };
  pass?: boolean;
  /** The interval straddles the target: this run cannot tell a pass from a miss. */
  unresolved?: boolean;
}

type Target = NonNullable<Check['target']>;
const meets = (target: Target, x: number) =>
  target.op === '>=' ? x >= target.limit : target.op === '<=' ? x <= target.limit : x < target.limit;

function judge(name: string, value: number | undefined, target?: Target): Check {
  if (value === undefined || Number.isNaN(value) || !target) return { name, value, target };
  return { name, value, target, pass: meets(target, value) };
}

/**
 * A median of rounds against its target, judged on its confidence interval:
 * a pass when the whole interval meets the target, a miss when none of it
 * does, else unresolved. With fewer than 6 rounds there is no interval and
 * the median alone is judged, as before; with no target it is only shown.
 */
export function judgeRounds(name: string, values: number[] | undefined, target?: Target): Check {
  const e = values && medianEstimate(values);
  if (!e?.interval) return judge(name, e?.median, target);
  const shown = { name, value: e.median, interval: e.interval };
  if (!target) return shown;
  const [lo, hi] = e.interval;
  const [worst, best] = target.op === '>=' ? [lo, hi] : [hi, lo];
  if (meets(target, worst)) return { ...shown, target, pass: true };
  if (!meets(target, best)) return { ...shown, target, pass: false };
  return { ...shown, target, unresolved: true };
}

/**
 * `pathNs`: ns the path step takes on an already-canonical path
 * (path.bench.ts), judged as a share of Tollgate's CPU per request: the most
 * throughput path handling can cost the common case.
 */
export function buildChecks(rows: PeakRow[], half: HalfLoad, pairs?: Paired, pathNs?: number): Check[] {
  const row = (name: string) => rows.find((r) => r.name === name);
  const rps = (name: string) => row(name)?.result?.rps;
  const ratio = (name: string) => {
    const t = rps('tollgate');
    const other = rps(name);
    return t === undefined || other === undefined ? undefined : t / other;
  };
  const tollgate = row('tollgate');
  const bareCpu = row('bare-undici')?.cpuUsPerRequest;
  const cpuOf = (name: string) => row(name)?.cpuUsPerRequest;
  const toMb = (b?: number) => (b === undefined ? undefined : b / 2 ** 20);
  return [
    // Targets against the floor and @fastify/http-proxy are judged on the alternating rounds; the sequential table's
    // ratios are shown beside them.
    judgeRounds('tollgate / bare-undici req/s (alternating, median)', pairedRatios(pairs, 'tollgate', 'rps'), {
      op: '>=',
      limit: 1.0,
    }),
    judge('tollgate / bare-undici req/s (sequential)', ratio('bare-undici')),
    judgeRounds(
      'tollgate / fastify-http-proxy req/s (alternating, median)',
      pairedRatios(pairs, 'tollgate', 'rps', 'fastify-http-proxy'),
      { op: '>=', limit: 1.5 },
    ),
    judge('tollgate / fastify-http-proxy req/s (sequential)', ratio('fastify-http-proxy')),
    judge('tollgate / nginx req/s', ratio('nginx')),
    judge('tollgate / upstream-direct req/s', ratio('upstream')),
    // CPU per request barely moves when a shared machine is busy, unlike req/s and p99.
    judgeRounds(
      'tollgate / bare-undici CPU per request (alternating, median)',
      pairedRatios(pairs, 'tollgate', 'cpuUs'),
    ),
    judge(
      'tollgate / bare-undici CPU per request (sequential)',
      tollgate?.cpuUsPerRequest === undefined || bareCpu === undefined ? undefined : tollgate.cpuUsPerRequest / bareCpu,
    ),
    // Judged on the per-round differences (each pair of rounds ran back to back), not on the difference of the two
    // medians.
    judgeRounds('p99 difference at half load, ms', p99Differences(half), { op: '<=', limit: 1 }),
    judgeRounds('p99 tollgate+events − tollgate at half load, ms', p99Differences(half, 'events', 'tollgate'), {
      op: '<=',
      limit: 1,
    }),
    judgeRounds('p99 tollgate+kafka − tollgate at half load, ms', p99Differences(half, 'kafka', 'tollgate'), {
      op: '<=',
      limit: 1,
    }),
    judge('tollgate RSS idle, MB', toMb(tollgate?.rssIdleBytes), { op: '<=', limit: 100 }),
    judge(`tollgate RSS idle after ${tollgate?.idleLongS ?? '-'} s, MB`, toMb(tollgate?.rssIdleLongBytes), {
      op: '<=',
      limit: 100,
    }),
    judge('tollgate RSS peak, MB', toMb(tollgate?.rssPeakBytes), { op: '<=', limit: 200 }),
    // What access events cost: events on / off in both shapes, judged on the alternating rounds; the sequential figures
    // beside.
    judgeRounds(
      'tollgate+events / tollgate req/s (alternating, median)',
      pairedRatios(pairs, 'tollgate+events', 'rps', 'tollgate'),
      { op: '>=', limit: 0.95 },
    ),
    judgeRounds(
      'tollgate+kafka / tollgate req/s (alternating, median)',
      pairedRatios(pairs, 'tollgate+kafka', 'rps', 'tollgate'),
      { op: '>=', limit: 0.95 },
    ),
    judge(
      'tollgate+events / tollgate req/s',
      rps('tollgate+events') === undefined || rps('tollgate') === undefined
        ? undefined
        : rps('tollgate+events')! / rps('tollgate')!,
    ),
    judge(
      'tollgate+events / bare-undici req/s',
      rps('tollgate+events') === undefined || rps('bare-undici') === undefined
        ? undefined
        : rps('tollgate+events')! / rps('bare-undici')!,
    ),
    // The default single-node setup (embedded events) and the Kafka sink are held to the same memory targets.
    judge('tollgate+events RSS idle, MB', toMb(row('tollgate+events')?.rssIdleBytes), { op: '<=', limit: 100 }),
    judge('tollgate+events RSS peak, MB', toMb(row('tollgate+events')?.rssPeakBytes), { op: '<=', limit: 200 }),
    judge('tollgate+kafka RSS peak, MB', toMb(row('tollgate+kafka')?.rssPeakBytes), { op: '<=', limit: 200 }),
    // The security issue: JWT + RBAC + IP list + local QPS limit on the route, against the floor.
    judgeRounds(
      'tollgate+secure / bare-undici req/s (alternating, median)',
      pairedRatios(pairs, 'tollgate+secure', 'rps'),
      { op: '>=', limit: 0.9 },
    ),
    judge(
      'tollgate+secure / bare-undici req/s (sequential)',
      rps('tollgate+secure') === undefined || rps('bare-undici') === undefined
        ? undefined
        : rps('tollgate+secure')! / rps('bare-undici')!,
    ),
    judge(
      'tollgate+secure / tollgate req/s',
      rps('tollgate+secure') === undefined || rps('tollgate') === undefined
        ? undefined
        : rps('tollgate+secure')! / rps('tollgate')!,
    ),
    // What the Redis-backed limit costs per request: gateway CPU µs over the local one's, and the req/s ratio.
    judge(
      'secure-redis − secure CPU µs/req',
      cpuOf('tollgate+secure-redis') === undefined || cpuOf('tollgate+secure') === undefined
        ? undefined
        : cpuOf('tollgate+secure-redis')! - cpuOf('tollgate+secure')!,
    ),
    judge(
      'tollgate+secure-redis / +secure req/s',
      rps('tollgate+secure-redis') === undefined || rps('tollgate+secure') === undefined
        ? undefined
        : rps('tollgate+secure-redis')! / rps('tollgate+secure')!,
    ),
    judge(
      'path handling on canonical paths, % of tollgate CPU per request',
      pathNs === undefined || tollgate?.cpuUsPerRequest === undefined
        ? undefined
        : (100 * pathNs) / (tollgate.cpuUsPerRequest * 1000),
      { op: '<=', limit: 2 },
    ),
    judge(
      'tollgate+kafka / tollgate req/s (emission cost)',
      rps('tollgate+kafka') === undefined || rps('tollgate') === undefined
        ? undefined
        : rps('tollgate+kafka')! / rps('tollgate')!,
      { op: '>=', limit: 0.95 },
    ),
  ];
}

export function printChecks(checks: Check[]): void {
  console.log('\nTargets');
  const nameWidth = Math.max(...checks.map((c) => c.name.length));
  for (const c of checks) {
    const value =
      fixed(c.value, 2).padStart(8) + (c.interval ? ` [${c.interval.map((x) => fixed(x, 2)).join('–')}]` : '');
    const target = c.target ? `target ${c.target.op} ${c.target.limit}` : '';
    const verdict =
      c.value === undefined
        ? 'n/a'
        : c.unresolved
          ? 'WITHIN NOISE (the 95% CI straddles the target; raise BENCH_PAIRED_ROUNDS / BENCH_HALF_LOAD_ROUNDS)'
          : c.pass === undefined
            ? ''
            : `${c.pass ? 'PASS' : 'MISS'}${c.interval ? ' (95% CI)' : ''}`;
    console.log(`${c.name.padEnd(nameWidth)} ${value.padEnd(22)} ${target.padEnd(14)} ${verdict}`);
  }
}

/**
 * A target judged on the ratio of each round's two figures (the two ran back to back, so a round's ratio shows what
 * one round's noise does): judgeRounds on those ratios, printed as `describe` prints a median and its interval.
 */
export function printRoundsTarget(what: string, ours: number[], theirs: number[], limit: number): void {
  const ratios = ours.map((x, i) => x / theirs[i]);
  const c = judgeRounds(what, ratios, { op: '>=', limit });
  const verdict = c.unresolved ? 'WITHIN NOISE' : c.pass ? 'PASS' : 'MISS';
  const estimate = describe(medianEstimate(ratios)!);
  console.log(`  target: ${what} ≥ ${limit.toFixed(2)}: ${estimate}, ${verdict}${c.interval ? ' (95% CI)' : ''}`);
  console.log(`  round by round: ${roundRatios(ours, theirs)}`);
}
