import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { canonicalJson, diffLines } from './diff.ts';

const render = (text: string) =>
  diffLines(text, text)
    .flatMap((h) => h.lines)
    .map((l) => l.kind);

test('two configs differing in one value: one hunk, the line removed and added, three lines of context', () => {
  const a = JSON.stringify({ services: [{ name: 'api', routes: [{ paths: ['/api'] }], upstream: { x: 1 } }] }, null, 2);
  const b = a.replace('"x": 1', '"x": 2');
  const hunks = diffLines(a, b);
  assert.equal(hunks.length, 1);
  const changed = hunks[0].lines.filter((l) => l.kind !== ' ');
  assert.deepEqual(
    changed.map((l) => `${l.kind}${l.text.trim()}`),
    ['-"x": 1', '+"x": 2'],
  );
  assert.equal(hunks[0].lines.length, 2 + 3 + 3);
  assert.deepEqual(render(a), [], 'equal texts: no hunk');
});

test('applying the diff to the old text gives the new one, for any two texts', () => {
  const line = fc.constantFrom('a', 'b', 'c', '{', '}', '');
  fc.assert(
    fc.property(fc.array(line, { maxLength: 30 }), fc.array(line, { maxLength: 30 }), (x, y) => {
      const a = x.join('\n');
      const b = y.join('\n');
      // With enough context every line is in one hunk, so the hunks' old and new sides are the texts themselves.
      const lines = diffLines(a, b, 1000).flatMap((h) => h.lines);
      if (a === b) return lines.length === 0;
      const oldSide = lines.filter((l) => l.kind !== '+').map((l) => l.text);
      const newSide = lines.filter((l) => l.kind !== '-').map((l) => l.text);
      assert.deepEqual(oldSide, a.split('\n'));
      assert.deepEqual(newSide, b.split('\n'));
    }),
  );
});

test('configs with the same fields in another order diff only where a value changed', () => {
  const before = { services: [{ name: 'api', routes: [{ paths: ['/a'] }], upstream: { targets: [] } }] };
  const after = {
    services: [{ upstream: { balancer: 'ewma', targets: [] }, routes: [{ paths: ['/a'] }], name: 'api' }],
  };
  const changed = diffLines(canonicalJson(before), canonicalJson(after))
    .flatMap((h) => h.lines)
    .filter((l) => l.kind !== ' ');
  assert.deepEqual(
    changed.map((l) => `${l.kind}${l.text.trim()}`),
    ['+"balancer": "ewma",'],
  );
});
