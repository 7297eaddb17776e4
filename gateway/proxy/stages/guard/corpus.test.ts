import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DEFAULT_RULES, evaluate, inspectCorpusRequest, loadCorpus } from './corpus/evaluate.ts';
import { SQLI, XSS } from './inspect.ts';
import { buildCorpus } from './corpus/generate.ts';

test('the committed corpus is what generate.ts makes: at least 200 attacks and 2,000 benign requests', () => {
  const { attacks, benign } = buildCorpus();
  const file = (name: string) => readFileSync(new URL(`corpus/${name}.jsonl`, import.meta.url), 'utf8');
  assert.equal(
    file('attacks'),
    attacks.map((r) => JSON.stringify(r)).join('\n') + '\n',
    'attacks.jsonl is stale: run corpus/generate.ts',
  );
  assert.equal(
    file('benign'),
    benign.map((r) => JSON.stringify(r)).join('\n') + '\n',
    'benign.jsonl is stale: run corpus/generate.ts',
  );
  assert.ok(attacks.length >= 200);
  assert.ok(benign.length >= 2000);
  assert.ok(
    attacks.filter((r) => r.expect === 'sqli').length >= 100 && attacks.filter((r) => r.expect === 'xss').length >= 100,
  );
});

test('the guard detects at least 97% of the attacks and flags at most 0.5% of the benign requests', () => {
  const r = evaluate();
  console.log(
    `guard corpus: detection ${r.detected}/${r.attacks} = ${(r.detectionRate * 100).toFixed(2)}%, ` +
      `false positives ${r.falsePositives.length}/${r.benign} = ${(r.falsePositiveRate * 100).toFixed(3)}%`,
  );
  for (const m of r.missed) console.log(`  missed ${m.id} ${m.url}`);
  for (const f of r.falsePositives) console.log(`  false positive ${f.id} ${f.url}`);
  assert.ok(r.detectionRate >= 0.97, `detection ${r.detectionRate}`);
  assert.ok(r.falsePositiveRate <= 0.005, `false positives ${r.falsePositiveRate}`);
});

test('each detector alone finds its own kind: SQL injection with xss off, XSS with sqli off', () => {
  const attacks = loadCorpus('attacks');
  const sqlOnly = { ...DEFAULT_RULES, xss: false };
  const xssOnly = { ...DEFAULT_RULES, sqli: false };
  const missedSql = attacks
    .filter((r) => r.expect === 'sqli' && inspectCorpusRequest(r, sqlOnly) !== SQLI)
    .map((r) => r.id);
  const missedXss = attacks
    .filter((r) => r.expect === 'xss' && inspectCorpusRequest(r, xssOnly) !== XSS)
    .map((r) => r.id);
  assert.deepEqual(missedSql, []);
  assert.deepEqual(missedXss, []);
});
