// How the bench judges its targets: medians of rounds with a confidence interval.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildChecks, judgeRounds } from './checks.ts';
import { medianEstimate, p99Differences, roundRatios, type HalfLoad } from './report.ts';
import type { RateResult } from './load.ts';
import { seededRandom } from '../helpers/seeded-random.ts';

test('medianEstimate: the interval is the order statistics the binomial tail gives', () => {
  const shuffled = [
    17, 3, 29, 8, 21, 1, 12, 30, 5, 26, 14, 19, 2, 23, 10, 28, 6, 16, 25, 11, 4, 20, 27, 9, 15, 22, 7, 18, 24, 13,
  ];
  // n = 30 at 95%: P(X <= 9) = 0.021 <= 0.025 < P(X <= 10) = 0.049, so the 10th and the 21st.
  assert.deepEqual(medianEstimate(shuffled), { median: 15.5, interval: [10, 21], n: 30 });
  // n = 6: only the extremes reach 95% (1 - 2/64 = 96.9%).
  assert.deepEqual(medianEstimate([4, 1, 6, 2, 5, 3])?.interval, [1, 6]);
  // n = 5: even the extremes cover only 93.75%, so there is no 95% interval.
  assert.deepEqual(medianEstimate([4, 1, 5, 2, 3]), { median: 3, interval: undefined, n: 5 });
  assert.equal(medianEstimate([]), undefined);
});

test('medianEstimate: the interval covers the true median of a skewed distribution at least 95% of the time', () => {
  // Seeded, so the coverage test draws the same samples every run.
  const random = seededRandom(20261123);
  // Exponential(1), whose median is ln 2: the noise of a round is one-sided like this (a neighbour only slows it).
  const draw = () => -Math.log(1 - random());
  for (const n of [8, 15, 30]) {
    const trials = 4000;
    let covered = 0;
    for (let t = 0; t < trials; t++) {
      const [lo, hi] = medianEstimate(Array.from({ length: n }, draw))!.interval!;
      if (lo <= Math.LN2 && Math.LN2 <= hi) covered++;
    }
    const coverage = covered / trials;
    // Exact coverage: n = 8 99.2%, n = 15 96.5%, n = 30 95.7%. One rank too narrow would give 93.0%, 88.2% and 90.1%.
    assert.ok(coverage >= 0.94 && coverage <= 0.997, `n=${n}: coverage ${coverage}`);
  }
});

test('roundRatios divides each round by the same round of the other side', () => {
  assert.equal(roundRatios([8, 9, 12], [10, 10, 10]), '0.80, 0.90, 1.20');
});

test('judgeRounds: a pass needs the whole interval on the target side, a miss none of it', () => {
  const above = [1.02, 1.03, 1.05, 1.04, 1.06, 1.01, 1.03, 1.02];
  const straddling = [0.96, 1.03, 1.05, 0.98, 1.06, 1.01, 0.97, 1.02];
  const below = above.map((x) => x - 0.1);
  const atLeastOne = { op: '>=', limit: 1.0 } as const;
  assert.deepEqual(judgeRounds('r', above, atLeastOne), {
    name: 'r',
    value: 1.03,
    interval: [1.01, 1.06],
    target: atLeastOne,
    pass: true,
  });
  const unsure = judgeRounds('r', straddling, atLeastOne);
  assert.equal(unsure.unresolved, true);
  assert.equal(unsure.pass, undefined);
  assert.equal(judgeRounds('r', below, atLeastOne).pass, false);
  // p99 differences: at most 1 ms, so the upper end decides a pass.
  const atMostOneMs = { op: '<=', limit: 1 } as const;
  assert.equal(judgeRounds('p', [0.2, 0.4, 0.3, 0.1, 0.9, 0.5], atMostOneMs).pass, true);
  assert.equal(judgeRounds('p', [0.2, 0.4, 0.3, 0.1, 1.9, 0.5], atMostOneMs).unresolved, true);
  assert.equal(judgeRounds('p', [1.2, 1.4, 1.3, 1.1, 1.9, 1.5], atMostOneMs).pass, false);
  // Under 6 rounds there is no interval: the median alone is judged.
  assert.deepEqual(judgeRounds('r', [0.9, 1.1, 1.2], atLeastOne), {
    name: 'r',
    value: 1.1,
    target: atLeastOne,
    pass: true,
  });
  assert.deepEqual(judgeRounds('r', undefined, atLeastOne), { name: 'r', value: undefined, target: atLeastOne });
  // With no target (CPU per request) the interval is only shown.
  assert.deepEqual(judgeRounds('c', above), { name: 'c', value: 1.03, interval: [1.01, 1.06] });
});

test("p99Differences pairs each of Tollgate's rounds with the floor's of the same round", () => {
  const rounds = (p99s: number[]): RateResult[] =>
    p99s.map((p99Ms) => ({ targetRps: 1, achievedRps: 1, completed: 1, p50Ms: 1, p99Ms, errors: 0 }));
  const side = (p99s: number[]) => ({ rounds: rounds(p99s), p50Ms: 0, p99Ms: 0, achievedRps: 0, errors: 0 });
  const half: HalfLoad = { rateRps: 1, basis: '', tollgate: side([3, 9, 4]), bareUndici: side([2, 10, 1]) };
  assert.deepEqual(p99Differences(half), [1, -1, 3]);
  assert.equal(p99Differences({ ...half, bareUndici: side([2, 10]) }), undefined);
  assert.equal(p99Differences({ rateRps: 1, basis: '' }), undefined);
});

test(
  'the long idle RSS is judged against the same ≤ 100 MB ' + 'as the reading at the start, under the seconds it waited',
  () => {
    const MB = 1024 * 1024;
    const checks = buildChecks(
      [{ name: 'tollgate', rssIdleBytes: 96.4 * MB, rssIdleLongBytes: 100.6 * MB, idleLongS: 60 }],
      { rateRps: 1, basis: '' },
    );
    const byName = new Map(checks.map((c) => [c.name, c]));
    assert.equal(byName.get('tollgate RSS idle, MB')?.pass, true);
    const long = byName.get('tollgate RSS idle after 60 s, MB');
    assert.ok(long, [...byName.keys()].join('; '));
    assert.equal(long.pass, false);
    assert.ok(Math.abs(long.value! - 100.6) < 1e-9, String(long.value));
    // Not read (BENCH_IDLE_LONG_S=0): shown without a verdict.
    const none = buildChecks([{ name: 'tollgate', rssIdleBytes: 96.4 * MB }], { rateRps: 1, basis: '' }).find((c) =>
      c.name.startsWith('tollgate RSS idle after'),
    );
    assert.equal(none?.value, undefined);
    assert.equal(none?.pass, undefined);
  },
);
