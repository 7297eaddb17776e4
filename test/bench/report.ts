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

/**
 * `a`'s value over `b`'s round by round, as printed beside the medians' ratio: the servers of a round run back to
 * back, so each round's ratio shows how far one round can move that of the medians.
 */
export const roundRatios = (a: number[], b: number[]): string => a.map((x, i) => (x / b[i]).toFixed(2)).join(', ');

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

const mb = (bytes?: number) => (bytes === undefined ? '-' : (bytes / 2 ** 20).toFixed(1));
export const fixed = (n: number | undefined, digits: number) =>
  n === undefined || Number.isNaN(n) ? '-' : n.toFixed(digits);
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

export function writeResults(data: unknown, name = 'latest'): string {
  const dir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const file = `${dir}${name}.json`;
  writeFileSync(file, JSON.stringify(data, null, 2) + '\n');
  return file;
}
