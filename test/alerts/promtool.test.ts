import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const CI = process.env.CI === 'true';
const alertsDir = fileURLToPath(new URL('../../alerts/', import.meta.url));
const RULES = 'tollgate.rules.yml';
const RULE_TESTS = 'tollgate.rules.test.yml';
// promtool evaluates every case in one process; a few seconds is typical.
const PROMTOOL_TIMEOUT_MS = 60_000;

type RuleFile = { groups: { name: string; rules: { alert?: string; record?: string }[] }[] };
type AlertCase = { alertname: string; eval_time: string; exp_alerts?: unknown[] | null };
type RuleTestFile = { rule_files: string[]; tests: { alert_rule_test?: AlertCase[] }[] };

const rules = parse(readFileSync(alertsDir + RULES, 'utf8')) as RuleFile;
const ruleTests = parse(readFileSync(alertsDir + RULE_TESTS, 'utf8')) as RuleTestFile;
const alertNames = rules.groups.flatMap((g) => g.rules.flatMap((r) => (r.alert ? [r.alert] : [])));
const alertCases = ruleTests.tests.flatMap((t) => t.alert_rule_test ?? []);

/** Runs promtool in alerts/ (rule_files are relative to the test file), or skips when it is not installed. */
function promtool(t: TestContext, args: string[]): { status: number | null; output: string } | undefined {
  const r = spawnSync('promtool', args, { cwd: alertsDir, encoding: 'utf8', timeout: PROMTOOL_TIMEOUT_MS });
  if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    if (CI)
      assert.fail(
        'promtool is not installed but CI=true: the alert rule tests must run in CI (npm run services:up installs it)',
      );
    t.skip('promtool is not installed; install it with `npm run services:up`');
    return undefined;
  }
  if (r.error) throw r.error;
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

test('promtool check rules accepts the rules file', (t) => {
  const r = promtool(t, ['check', 'rules', RULES]);
  if (r) assert.equal(r.status, 0, r.output);
});

test('promtool test rules passes every unit test of the rules', (t) => {
  const r = promtool(t, ['test', 'rules', RULE_TESTS]);
  if (r) assert.equal(r.status, 0, r.output);
});

test('the unit tests load the rules file this suite checks', () => {
  assert.deepEqual(ruleTests.rule_files, [RULES]);
});

test('the rules file defines at least one alert and no alert twice', () => {
  assert.ok(alertNames.length > 0, 'no alerts found');
  assert.deepEqual(alertNames, [...new Set(alertNames)], 'an alert name is defined twice');
});

test('every alert is exercised by a case where it fires and a case where it stays quiet', () => {
  const missing: string[] = [];
  for (const name of alertNames) {
    const cases = alertCases.filter((c) => c.alertname === name);
    if (!cases.some((c) => (c.exp_alerts ?? []).length > 0)) missing.push(`${name}: no case where it fires`);
    if (!cases.some((c) => (c.exp_alerts ?? []).length === 0)) missing.push(`${name}: no case where it stays quiet`);
  }
  assert.deepEqual(missing, []);
});

test('every alert case names an alert that exists', () => {
  // promtool passes a case for an unknown alert name (it simply never fires), which would hide a rename.
  const unknown = alertCases.map((c) => c.alertname).filter((n) => !alertNames.includes(n));
  assert.deepEqual(unknown, []);
});

test('every alert has a severity, a summary and description naming its subject, and a runbook section', () => {
  const readme = readFileSync(alertsDir + 'README.md', 'utf8');
  const anchors = new Set([...readme.matchAll(/^#+ (.+)$/gm)].map((m) => githubAnchor(m[1])));
  const problems: string[] = [];
  for (const rule of rules.groups.flatMap((g) => g.rules) as Record<string, any>[]) {
    if (!rule.alert) continue;
    const a = rule.annotations ?? {};
    if (!['critical', 'warning'].includes(rule.labels?.severity)) problems.push(`${rule.alert}: severity`);
    for (const key of ['summary', 'description']) {
      if (!/\{\{ \$labels\.\w+ \}\}/.test(a[key] ?? '')) problems.push(`${rule.alert}: ${key} names no label`);
    }
    const anchor = `alert-${rule.alert.toLowerCase()}`;
    if (a.runbook_url !== `alerts/README.md#${anchor}`) problems.push(`${rule.alert}: runbook_url ${a.runbook_url}`);
    if (!anchors.has(anchor)) problems.push(`${rule.alert}: alerts/README.md has no heading for #${anchor}`);
  }
  assert.deepEqual(problems, []);
});

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens. */
function githubAnchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}
