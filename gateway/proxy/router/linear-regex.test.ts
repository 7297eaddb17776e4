import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { LinearRegex, regexError } from './linear-regex.ts';

// Regexes as routes, header conditions, rewrites and CORS origins spell them.
const SOURCES = [
  '^/users/[0-9]+$',
  '^\\/v[12]\\/(orders|items)\\/(?<id>[a-z0-9-]+)$',
  '^/files/([^/]+/)*[^/]+\\.png$',
  '/x',
  '^/api',
  '(a+)+b',
  '^(?:https://)?([a-z]+\\.)*example\\.com$',
  '\\d{2,4}-\\w*',
  '^$',
];
const REPLACEMENTS = ['/new/$1', '$<id>:$2', '[$&]', '$$', "$`|$'", '', '$9'];
const path = fc.oneof(
  fc.stringMatching(/^[/a-z0-9.\-:AB]{0,24}$/),
  // Inputs each source matches, so matches and their groups are compared too, not only misses.
  fc.constantFrom('/users/42', '/v1/orders/ab-1', '/v2/items/x', '/files/a/b/c.png', '/api/x', 'aab', '12-x'),
  fc.constantFrom('https://a.b.example.com', 'example.com', ''),
);

test('matches and replaces as RegExp and String.prototype.replace do, on regexes both engines take', () => {
  for (const source of SOURCES) {
    const linear = new LinearRegex(source);
    const native = new RegExp(source);
    fc.assert(
      fc.property(path, fc.constantFrom(...REPLACEMENTS), (input, replacement) => {
        assert.equal(linear.test(input), native.test(input), `${source} on ${input}`);
        assert.equal(linear.replace(input, replacement), input.replace(native, replacement));
      }),
      { numRuns: 300 },
    );
  }
});

test('case folding matches as the i flag does', () => {
  const linear = new LinearRegex('^/Users/[A-Z]+$', true);
  for (const input of ['/users/abc', '/USERS/ABC', '/Users/aBc', '/users/ab1'])
    assert.equal(linear.test(input), /^\/Users\/[A-Z]+$/i.test(input), input);
});

test('a regex that backtracks exponentially in RegExp answers in linear time', () => {
  // RegExp takes ~0.5 s at 26 characters here and twice as long with each more: 5,000 would not end.
  const evil = '/api/' + 'a'.repeat(5000) + '!';
  const started = performance.now();
  assert.equal(new LinearRegex('^/api/(a+)+$').test(evil), false);
  assert.equal(new LinearRegex('^(\\w+\\s?)+$').test(evil.slice(5)), false);
  assert.equal(new LinearRegex('(.*a){12}').test('a'.repeat(5000)), true);
  assert.ok(performance.now() - started < 2000, `took ${Math.round(performance.now() - started)} ms`);
});

test('lookarounds and backreferences are refused, naming RE2 syntax', () => {
  for (const source of ['^/api/(?!internal)', '(?<=v)1', '(a)\\1', '^/x(?=y)'])
    assert.match(regexError(source) ?? '', /^invalid regular expression: .*RE2's syntax/, source);
  for (const source of SOURCES) assert.equal(regexError(source), undefined, source);
});
