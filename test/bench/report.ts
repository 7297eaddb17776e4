// Turns measurements into the printed table, the target checks and results/latest.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { PeakResult, RateResult } from './load.ts';

export interface PeakRow {
  name: string;
  /** Set instead of the measurements when the competitor did not run. */
  note?: string;
  result?: PeakResult;
  /** Server CPU time (user + system, whole process tree) per request during the measured run. */
  cpuUsPerRequest?: number;
  rssIdleBytes?: number;
  /** Tollgate only: RSS read idleLongS (BENCH_IDLE_LONG_S, 180) seconds after its start, still idle. */
  rssIdleLongBytes?: number;
  idleLongS?: number;
  rssPeakBytes?: number;
  processes?: number;
}

/** One competitor's open-loop rounds and their medians. */
export interface HalfLoadSide {
  rounds: RateResult[];
  p50Ms: number;
  p99Ms: number;
  achievedRps: number;
  errors: number;
}

export interface HalfLoad {
  rateRps: number;
  basis: string;
  bareUndici?: HalfLoadSide;
  tollgate?: HalfLoadSide;
  /** Tollgate with access events (embedded, Kafka), at the same rate: what counting adds to p99. */
  events?: HalfLoadSide;
  kafka?: HalfLoadSide;
  p99DiffMs?: number;
  /** Rounds disagreed by more than 3x: the machine was busy, so no verdict on the p99 target. */
  unstable?: boolean;
  note?: string;
}

/** Alternating peak rounds of the floor and the gateway variants (run.ts, paired). */
export interface PairedRound {
  /** Per competitor, in `names` order. */
  rps: number[];
  cpuUs: number[];
}

export interface Paired {
  names: string[];
  rounds: PairedRound[];
  note?: string;
}

/** Per round, competitor `name`'s value divided by `base`'s in the same round; undefined when either did not run. */
export function pairedRatios(
  p: Paired | undefined,
  name: string,
  of: 'rps' | 'cpuUs',
  base = 'bare-undici',
): number[] | undefined {
  const i = p?.names.indexOf(name) ?? -1;
  const b = p?.names.indexOf(base) ?? -1;
  if (!p || i < 0 || b < 0 || p.rounds.length === 0) return undefined;
  return p.rounds.map((r) => r[of][i] / r[of][b]);
}

/** A median with its confidence interval: what a target is judged on. */
export interface Estimate {
  median: number;
  /** At least 95% confidence; absent with fewer than 6 values. */
  interval?: [number, number];
  n: number;
}

/**
 * The median of `values` and a distribution-free confidence interval for it:
 * the k-th smallest and k-th largest value, with k the largest rank for which
 * the chance that fewer than k of n values fall below the true median (a
 * Binomial(n, 1/2) tail) is at most (1 - level) / 2. It assumes only that the
 * rounds are independent draws, not any shape of the noise, so one round a
 * neighbour's burst hit moves it by one rank, not by the burst's size.
 * With 30 rounds at 95% it is the 10th to the 21st value; below 6 rounds no
 * pair of ranks reaches 95% and it gives none.
 */
export function medianEstimate(values: number[], level = 0.95): Estimate | undefined {
  const n = values.length;
  if (n === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const tail = (1 - level) / 2;
  // P(X <= j) for X ~ Binomial(n, 1/2), accumulated term by term.
  let term = 0.5 ** n;
  let cdf = term;
  let k = 0;
  for (let j = 0; cdf <= tail && j < n; j++) {
    k = j + 1;
    term = (term * (n - j)) / (j + 1);
    cdf += term;
  }
  return { median: median(values), interval: k > 0 ? [sorted[k - 1], sorted[n - k]] : undefined, n };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function printPaired(p: Paired, durationS: number): void {
  console.log(
    `\nAlternating peak rounds (${p.rounds.length} x ${durationS} s each, side by side, ` +
      'each round starting with the next competitor): req/s, CPU us/req',
  );
  for (const [i, name] of p.names.entries()) {
    const cells = p.rounds.map((r) => `${r.rps[i].toFixed(0)} / ${r.cpuUs[i].toFixed(1)}`).join('   ');
    console.log(`${name.padEnd(20)} ${cells}`);
  }
  const ratioLine = (name: string, base: string) => {
    const rps = medianEstimate(pairedRatios(p, name, 'rps', base) ?? []);
    const cpu = medianEstimate(pairedRatios(p, name, 'cpuUs', base) ?? []);
    if (rps && cpu)
      console.log(`${name} / ${base}, median of rounds [95% CI]: req/s ${describe(rps)}, CPU ${describe(cpu)}`);
  };
  for (const name of p.names) if (name !== 'bare-undici') ratioLine(name, 'bare-undici');
  ratioLine('tollgate', 'fastify-http-proxy');
  if (p.note) console.log(p.note);
}

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

const mb = (bytes?: number) => (bytes === undefined ? '-' : (bytes / 2 ** 20).toFixed(1));
const fixed = (n: number | undefined, digits: number) => (n === undefined || Number.isNaN(n) ? '-' : n.toFixed(digits));
/** A median with its interval, e.g. `1.06 [1.05–1.07]`. */
export const describe = (e: Estimate, digits = 2) => {
  const interval = e.interval ? e.interval.map((x) => fixed(x, digits)).join('–') : `no CI, ${e.n} rounds`;
  return `${fixed(e.median, digits)} [${interval}]`;
};

export function printPeakTable(rows: PeakRow[], header: string): void {
  console.log(`\n${header}`);
  const cols = [
    'competitor',
    'req/s',
    'p50 ms',
    'p99 ms',
    'errors',
    'non-2xx',
    'CPU us/req',
    'RSS idle MB',
    'RSS peak MB',
    'procs',
  ];
  const widths = [20, 9, 7, 7, 6, 7, 10, 11, 11, 5];
  const line = (cells: string[]) =>
    console.log(cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' '));
  line(cols);
  for (const row of rows) {
    const r = row.result;
    if (!r) {
      console.log(`${row.name}: ${row.note}`);
      continue;
    }
    line([
      row.name,
      r.rps.toFixed(0),
      fixed(r.p50Ms, 2),
      fixed(r.p99Ms, 2),
      String(r.errors),
      String(r.non2xx),
      fixed(row.cpuUsPerRequest, 1),
      mb(row.rssIdleBytes),
      mb(row.rssPeakBytes),
      String(row.processes ?? '-'),
    ]);
  }
}

/** True when any side's per-round p99s differ by more than 3x. */
export function roundsDisagree(sides: (HalfLoadSide | undefined)[]): boolean {
  return sides.some((side) => {
    const p99s = side?.rounds.map((r) => r.p99Ms) ?? [];
    return p99s.length > 1 && Math.max(...p99s) > 3 * Math.min(...p99s);
  });
}

export function printHalfLoad(
  h: HalfLoad,
  connections: number,
  durationS: number,
  warmupS: number,
  rounds: number,
): void {
  console.log(
    `\np99 at half load: ${h.rateRps.toFixed(0)} req/s (${h.basis}), open loop, ${connections} connections, ` +
      `${rounds} alternating rounds of ${durationS} s after ${warmupS} s warm-up, medians`,
  );
  const line = (name: string, r?: HalfLoadSide) =>
    console.log(
      r
        ? `${name.padEnd(20)} achieved ` +
            `${r.achievedRps.toFixed(0).padStart(7)} req/s   p50 ${fixed(r.p50Ms, 2).padStart(7)} ms   ` +
            `p99 ${fixed(r.p99Ms, 2).padStart(7)} ms   errors ${r.errors}   ` +
            `(p99 per round: ${r.rounds.map((x) => fixed(x.p99Ms, 2)).join(', ')})`
        : `${name.padEnd(20)} -`,
    );
  line('bare-undici', h.bareUndici);
  line('tollgate', h.tollgate);
  if (h.events) line('tollgate+events', h.events);
  if (h.kafka) line('tollgate+kafka', h.kafka);
  if (h.unstable) console.log('note: rounds disagree by more than 3x; the machine was busy.');
  if (h.note) console.log(h.note);
  console.log(
    `p99 difference (tollgate - bare-undici): ${h.p99DiffMs === undefined ? 'n/a' : `${h.p99DiffMs.toFixed(2)} ms`} ` +
      '(difference of the medians)',
  );
  const perRound = p99Differences(h);
  const estimate = perRound && medianEstimate(perRound);
  if (estimate)
    console.log(
      `p99 difference per round (tollgate - bare-undici of the same round), median [95% CI]: ${describe(estimate)} ms`,
    );
  for (const side of ['events', 'kafka'] as const) {
    const differences = p99Differences(h, side, 'tollgate');
    const events = differences && medianEstimate(differences);
    if (events)
      console.log(`p99 difference per round (tollgate+${side} - tollgate), median [95% CI]: ${describe(events)} ms`);
  }
}

type HalfLoadName = 'bareUndici' | 'tollgate' | 'events' | 'kafka';

/** Per round, `of`'s p99 less `less`'s in the same round (the rounds alternate, so each pair ran back to back). */
export function p99Differences(
  h: HalfLoad,
  of: HalfLoadName = 'tollgate',
  less: HalfLoadName = 'bareUndici',
): number[] | undefined {
  const t = h[of]?.rounds;
  const b = h[less]?.rounds;
  if (!t || !b || t.length === 0 || t.length !== b.length) return undefined;
  return t.map((r, i) => r.p99Ms - b[i].p99Ms);
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
  const rps = (name: string) => rows.find((r) => r.name === name)?.result?.rps;
  const ratio = (name: string) => {
    const t = rps('tollgate');
    const other = rps(name);
    return t === undefined || other === undefined ? undefined : t / other;
  };
  const tollgate = rows.find((r) => r.name === 'tollgate');
  const bareCpu = rows.find((r) => r.name === 'bare-undici')?.cpuUsPerRequest;
  const cpuOf = (name: string) => rows.find((r) => r.name === name)?.cpuUsPerRequest;
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
    judge('tollgate+events RSS peak, MB', toMb(rows.find((r) => r.name === 'tollgate+events')?.rssPeakBytes), {
      op: '<=',
      limit: 200,
    }),
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

export function writeResults(data: unknown, name = 'latest'): string {
  const dir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const file = `${dir}${name}.json`;
  writeFileSync(file, JSON.stringify(data, null, 2) + '\n');
  return file;
}
