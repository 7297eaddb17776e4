// Parses every dashboard PromQL expression with promtool (Debian's prometheus
// package; `npm run services:up` installs it), as recording rules with the
// Grafana variables filled in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildDashboards } from './src/render.ts';
import { panelsOf, prometheusExpressions, variablesOf } from './walk.ts';

const promtool = process.env.TOLLGATE_TEST_PROMTOOL;
const skip =
  !promtool && process.env.CI !== 'true' ? 'TOLLGATE_TEST_PROMTOOL is unset; run `npm run services:up`' : false;

/** What Grafana sends for its variables: a range for $__rate_interval and friends, "All" (.*) for $service. */
function asPrometheusSees(expr: string): string {
  return expr.replace(/\$__(?:rate_interval|interval|range)\b/g, '5m').replace(/\$\w+/g, '.*');
}

test('every dashboard PromQL expression parses with promtool', { skip }, async () => {
  assert.ok(promtool, 'CI=true requires TOLLGATE_TEST_PROMTOOL (npm run services:up)');
  const rules = prometheusExpressions().map((expr, i) => {
    const filled = asPrometheusSees(expr);
    assert.doesNotMatch(filled, /\$/, `unfilled variable in ${expr}`);
    return `      - record: tollgate:dashboard_expr_${i}\n        expr: ${JSON.stringify(filled)}`;
  });
  const dir = await mkdtemp(join(tmpdir(), 'tollgate-promql-'));
  try {
    const file = join(dir, 'dashboards.rules.yml');
    await writeFile(file, `groups:\n  - name: dashboards\n    rules:\n${rules.join('\n')}\n`);
    const result = await promisify(execFile)(promtool, ['check', 'rules', file]).catch(
      (e: { stdout: string; stderr: string }) => e,
    );
    assert.match(
      result.stdout,
      new RegExp(`SUCCESS: ${rules.length} rules found`),
      `${result.stdout}\n${result.stderr}`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

/**
 * What Grafana's Prometheus datasource puts for a multi-value variable with
 * "All" in a query: each value regex-escaped (the backslash doubled for the
 * PromQL string), several as `(a|b)`, All as the allValue.
 */
function grafanaFormats(selection: string[] | 'All', allValue: string): string {
  if (selection === 'All') return allValue;
  const escaped = selection.map((v) => v.replace(/[\\$^*{}[\]'+?.()|]/g, (c) => `\\\\${c}`));
  return escaped.length === 1 ? escaped[0] : `(${escaped.join('|')})`;
}

/**
 * Regression: a canary group's pool metrics are labelled service="svc/group",
 * and the `$service` filter (`service=~"$service"`) dropped them, so the
 * target health and ejection panels lost every canary group whatever was
 * selected. Each pool panel's query, with `$service` as Grafana fills it, is
 * evaluated by promtool on series of a service, its canary group, and
 * services whose names the filter must not take.
 */
test("the upstream pool panels filtered by $service show that service's canary groups, and no other service", {
  skip,
}, async () => {
  assert.ok(promtool, 'CI=true requires TOLLGATE_TEST_PROMTOOL (npm run services:up)');
  const dashboard = buildDashboards().find((d) => d.uid === 'tollgate-gateway-overview')!;
  const variable = variablesOf(dashboard).find((v) => v.name === 'service') as unknown as {
    query: string;
    multi: boolean;
    includeAll: boolean;
    allValue: string;
  };
  // The formatting below is Grafana's for exactly this kind of variable: multi-value with All (.*), listing services
  // from the request counter.
  assert.deepEqual(
    [variable.query, variable.multi, variable.includeAll, variable.allValue],
    ['label_values(tollgate_requests_total, service)', true, true, '.*'],
  );

  const pool = panelsOf(dashboard)
    .flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title!, expr: t.expr ?? '' })))
    .filter((q) => /tollgate_upstream_/.test(q.expr));
  assert.deepEqual([...new Set(pool.map((q) => q.panel))].sort(), [
    'Passive ejections and ejections over the cap',
    'Upstream target health',
  ]);
  for (const q of pool) assert.match(q.expr, /\$service/, `${q.panel} is filtered by $service`);

  const services = ['api', 'api/canary', 'api/blue', 'apiary', 'web', 'web/canary', 'v1.api', 'v1xapi/canary'];
  const series = services.flatMap((service) => [
    { series: `tollgate_upstream_target_healthy{service="${service}",target="127.0.0.1:1"}`, values: '1x10' },
    { series: `tollgate_upstream_ejections_total{service="${service}",target="127.0.0.1:1"}`, values: '0+60x10' },
    { series: `tollgate_upstream_ejections_overflow_total{service="${service}"}`, values: '0+60x10' },
  ]);
  const selections: { selection: string[] | 'All'; shows: string[] }[] = [
    { selection: ['api'], shows: ['api', 'api/canary', 'api/blue'] },
    { selection: ['web', 'v1.api'], shows: ['web', 'web/canary', 'v1.api'] },
    { selection: ['v1.api'], shows: ['v1.api'] },
    { selection: 'All', shows: services },
  ];
  const cases = pool.flatMap((q) =>
    selections.map(({ selection, shows }) => ({
      expr: `group by (service) (${q.expr
        .replace(/\$__rate_interval\b/g, '5m')
        .replace(/\$service\b/g, grafanaFormats(selection, variable.allValue))})`,
      eval_time: '10m',
      exp_samples: shows.map((service) => ({ labels: `{service="${service}"}`, value: 1 })),
    })),
  );
  const dir = await mkdtemp(join(tmpdir(), 'tollgate-promql-'));
  try {
    const file = join(dir, 'pool-panels.test.yml');
    await writeFile(
      file,
      JSON.stringify(
        {
          rule_files: [],
          evaluation_interval: '1m',
          tests: [{ interval: '1m', input_series: series, promql_expr_test: cases }],
        },
        null,
        1,
      ),
    );
    const result = await promisify(execFile)(promtool!, ['test', 'rules', file]).then(
      (r) => ({ ...r, code: 0 }),
      (e: { stdout: string; stderr: string; code: number }) => e,
    );
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    assert.match(result.stdout, /SUCCESS/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
