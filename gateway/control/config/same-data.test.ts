import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { sameData } from './same-data.ts';

test('sameData: equal data in any key order, unequal on any difference', () => {
  assert.equal(sameData({ a: 1, b: [1, { c: 'x' }] }, { b: [1, { c: 'x' }], a: 1 }), true);
  assert.equal(sameData(NaN, NaN), true);
  assert.equal(sameData(null, null), true);
  for (const [a, b] of [
    [{ a: 1 }, { a: 1, b: 2 }],
    [{ a: 1, b: 2 }, { a: 1 }],
    [{ a: undefined }, {}],
    [{}, { a: undefined }],
    [
      [1, 2],
      [1, 2, 3],
    ],
    [[1], { 0: 1 }],
    [{ 0: 1 }, [1]],
    [{}, null],
    [null, {}],
    [1, '1'],
    [0, false],
    ['', null],
    [{ a: { b: [1, 2] } }, { a: { b: [1, 3] } }],
    [Object.create(null), {}],
  ] as const) {
    assert.equal(sameData(a, b), false, `${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
  }
});

test('sameData agrees with util.isDeepStrictEqual on random config-shaped data', () => {
  let seed = 7;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return Math.floor(seed / 65536) % n;
  };
  const value = (depth: number): unknown => {
    const k = rand(depth > 2 ? 4 : 6);
    if (k === 0) return rand(3);
    if (k === 1) return ['a', 'b', ''][rand(3)];
    if (k === 2) return [true, false, null][rand(3)];
    if (k === 3) return rand(4) === 0 ? undefined : 0.5;
    if (k === 4) return Array.from({ length: rand(3) }, () => value(depth + 1));
    const o: Record<string, unknown> = {};
    for (let i = rand(4); i > 0; i--) o['kxy'[rand(3)]!] = value(depth + 1);
    return o;
  };
  // Copy with keys in reverse order, and sometimes one leaf changed.
  const copy = (v: unknown, mutate: { left: number }): unknown => {
    if (Array.isArray(v)) return v.map((x) => copy(x, mutate));
    if (v && typeof v === 'object')
      return Object.fromEntries(
        Object.entries(v)
          .reverse()
          .map(([k, x]) => [k, copy(x, mutate)]),
      );
    return mutate.left-- === 0 ? (typeof v === 'number' ? v + 1 : 1) : v;
  };
  let equal = 0,
    unequal = 0;
  for (let i = 0; i < 3000; i++) {
    const a = value(0);
    const b = rand(2) === 0 ? copy(a, { left: -1 }) : rand(2) === 0 ? copy(a, { left: rand(4) }) : value(0);
    const expected = isDeepStrictEqual(a, b);
    assert.equal(sameData(a, b), expected, `${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
    if (expected) equal++;
    else unequal++;
  }
  assert.ok(equal > 500 && unequal > 500, `both outcomes exercised: ${equal} equal, ${unequal} unequal`);
});
