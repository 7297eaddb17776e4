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
import { prometheusExpressions } from './walk.ts';

const promtool = process.env.TOLLGATE_TEST_PROMTOOL;
const skip = !promtool && process.env.CI !== 'true' ? 'TOLLGATE_TEST_PROMTOOL is unset; run `npm run services:up`' : false;

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
    const result = await promisify(execFile)(promtool, ['check', 'rules', file]).catch((e: { stdout: string; stderr: string }) => e);
    assert.match(result.stdout, new RegExp(`SUCCESS: ${rules.length} rules found`), `${result.stdout}\n${result.stderr}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
