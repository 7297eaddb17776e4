import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import { parse } from 'yaml';
import { jsonExact } from './json-exact.ts';

const roundTrips = (v: unknown) => {
  try {
    return isDeepStrictEqual(JSON.parse(JSON.stringify(v)), v);
  } catch {
    return false;
  }
};

const cases: [string, unknown][] = [
  ['a plain config', { a: 1, b: [1, 'x', true, null, { c: -1.5e300 }], d: { e: {} }, __proto__x: 2 }],
  ['YAML .inf', parse('x: .inf')],
  ['YAML .nan', parse('x: .nan')],
  ['-0', { x: -0 }],
  ['undefined in an object', { x: undefined }],
  ['undefined in an array', [1, undefined]],
  ['a hole', [1, undefined, 2]], // eslint-disable-line no-sparse-arrays
  ['a Date', { at: new Date(0) }],
  ['a Map', { m: new Map() }],
  ['an object without a prototype', Object.assign(Object.create(null), { a: 1 })],
  ['a symbol key', { [Symbol('s')]: 1, a: 1 }],
  ['a toJSON method', { toJSON: () => 'x' }],
  ['a bigint', { n: 1n }],
  ['a function', { f: () => 1 }],
  ['a lone surrogate', { s: '\ud800' }],
  ['an array subclass', { a: new (class extends Array {})() }],
];

for (const [name, value] of cases) {
  test(`jsonExact agrees with a JSON round trip: ${name}`, () => {
    assert.equal(jsonExact(value), roundTrips(value));
  });
}
