import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { canonicalPath, plainPath, type PathOptions } from './canonical-path.ts';

const DECODE: PathOptions = { mergeSlashes: true, keepSeparators: false, keepParams: false };
const KEEP: PathOptions = { mergeSlashes: true, keepSeparators: true, keepParams: true };
const c = (p: string, o: PathOptions = DECODE) => canonicalPath(p, o);

test('an already-canonical path is returned as it is, without the slow path', () => {
  for (const p of ['/', '/api', '/api/v1/users/42', '/a-b_c~d.e', '/api/', "/x!$&'()*+,=:@"]) {
    assert.equal(plainPath(p), true, p);
    assert.equal(c(p), p);
  }
});

test('escaped unreserved characters are decoded; the escapes that stay are upper-cased', () => {
  assert.equal(c('/%61%64%6D%69%6e'), '/admin');
  assert.equal(c('/a%7eb%2D%5f'), '/a~b-_');
  assert.equal(c('/a%3a%40%21'), '/a%3A%40%21');
  assert.equal(c('/caf%c3%a9'), '/caf%C3%A9');
  assert.equal(c('/a%20b'), '/a%20b');
});

test('characters a URI may not hold literally are escaped, so each byte has one spelling', () => {
  assert.equal(c('/a"b<c>d'), '/a%22b%3Cc%3Ed');
  assert.equal(c('/a{b}|c^d`e[f]'), '/a%7Bb%7D%7Cc%5Ed%60e%5Bf%5D');
  assert.equal(c('/a%22b'), c('/a"b'));
});

test('dot segments are removed in every spelling, never above the root', () => {
  for (const p of [
    '/a/./b/../c',
    '/a/%2e/b/%2e%2e/c',
    '/a/%2E/b/%2E%2E/c',
    '/a/.%2e/../a/b/../c',
    '/a/b/%2e./c/../c',
  ]) {
    assert.equal(c(p), '/a/c', p);
  }
  assert.equal(c('/../../etc/passwd'), '/etc/passwd');
  assert.equal(c('/a/..'), '/');
  assert.equal(c('/a/.'), '/a/');
  assert.equal(c('/a/b/..'), '/a/');
  assert.equal(c('/..'), '/');
  // Three dots are a name, not a dot segment.
  assert.equal(c('/a/.../b'), '/a/.../b');
});

test('repeated slashes are merged, or kept with merge_slashes off', () => {
  assert.equal(c('//a///b//'), '/a/b/');
  const noMerge = { ...DECODE, mergeSlashes: false };
  assert.equal(c('//a///b', noMerge), '//a///b');
  assert.equal(c('/a//../b', noMerge), '/a/b');
});

test('escaped separators and a backslash are read as / when decoded, kept escaped otherwise', () => {
  assert.equal(c('/a%2Fb'), '/a/b');
  assert.equal(c('/a%2fb%5cc\\d'), '/a/b/c/d');
  assert.equal(c('/files/..%2Fadmin'), '/admin');
  assert.equal(c('/a\\..\\admin'), '/admin');
  assert.equal(c('/repos/a%2fb', KEEP), '/repos/a%2Fb');
  assert.equal(c('/repos/a\\b', KEEP), '/repos/a%5Cb');
});

test('a kept escaped separator may not hide a dot segment', () => {
  for (const p of ['/files/..%2Fadmin', '/files/a%2F..%2F..%2Fadmin', '/files/.%5Cx', '/files/x\\..']) {
    assert.equal(c(p, KEEP), 'GW_ERR_PATH_AMBIGUOUS', p);
  }
  assert.equal(c('/files/a%2F...', KEEP), '/files/a%2F...');
});

test('path parameters are dropped or kept, and a dot segment loses them either way', () => {
  assert.equal(c('/admin;jsessionid=1/users'), '/admin/users');
  assert.equal(c('/admin;jsessionid=1/users', KEEP), '/admin;jsessionid=1/users');
  assert.equal(c('/public/..;x/admin'), '/admin');
  assert.equal(c('/public/..;x/admin', KEEP), '/admin');
  assert.equal(c('/public/.;/admin', KEEP), '/public/admin');
  // An escaped `;` is data, not a parameter.
  assert.equal(c('/a%3Bb'), '/a%3Bb');
});

test('bad escapes, control characters, invalid UTF-8 and double encoding have no canonical form', () => {
  for (const p of [
    '/a%zz',
    '/a%',
    '/a%4',
    '/a%00',
    '/a%0a',
    '/a%1F',
    '/a%7f',
    '/a%c0%ae',
    '/a%e0%80%ae',
    '/a%ed%a0%80',
    '/a%f4%90%80%80',
    '/a%c3',
    '/a%c3/b',
    '/a%ff',
    '/a%c3x',
  ]) {
    assert.equal(c(p), 'GW_ERR_PATH_INVALID', p);
  }
  for (const p of ['/a%252e%252e/admin', '/a%252F', '/%25%32%65', '/a%25%34%31']) {
    assert.equal(c(p), 'GW_ERR_PATH_DOUBLE_ENCODED', p);
  }
  // `%25` before something that is no escape stays a percent sign.
  assert.equal(c('/discount/50%25'), '/discount/50%25');
  assert.equal(c('/a%25zz'), '/a%25zz');
});

// Paths built from the pieces spellings are made of.
const segment = fc
  .array(
    fc.constantFrom(
      'a',
      'B',
      'z',
      '0',
      '-',
      '.',
      '..',
      '%2e',
      '%2E',
      '%41',
      '%7e',
      '~',
      ':',
      '@',
      '%3A',
      '%20',
      '%C3%A9',
      ';p=1',
      '\\',
      '%2F',
      '%5c',
      '"',
      '{',
    ),
    { maxLength: 5 },
  )
  .map((a) => a.join(''));
const path = fc.array(segment, { maxLength: 6 }).map((s) => '/' + s.join('/'));
const options = fc.record({ mergeSlashes: fc.boolean(), keepSeparators: fc.boolean(), keepParams: fc.boolean() });

test('property: canonicalising is idempotent', () => {
  fc.assert(
    fc.property(path, options, (p, o) => {
      const once = canonicalPath(p, o);
      if (once.charCodeAt(0) !== 47) return;
      assert.equal(canonicalPath(once, o), once);
    }),
    { numRuns: 5000 },
  );
});

/** Re-spells a canonical path: escapes some of its unreserved characters, in either case of hex. */
function reEncode(p: string, pick: (i: number) => boolean): string {
  let out = '';
  for (let i = 0; i < p.length; i++) {
    const ch = p[i];
    if (ch === '%') {
      out += p.slice(i, i + 3);
      i += 2;
    } else if (!/[A-Za-z0-9\-._~]/.test(ch) || !pick(i)) out += ch;
    else out += '%' + ch.charCodeAt(0).toString(16)[pick(i + 1) ? 'toUpperCase' : 'toLowerCase']();
  }
  return out;
}

test('property: any re-encoding of a path has the same canonical form', () => {
  fc.assert(
    fc.property(path, options, fc.array(fc.boolean(), { minLength: 64, maxLength: 64 }), (p, o, bits) => {
      const canonical = canonicalPath(p, o);
      if (canonical.charCodeAt(0) !== 47) return;
      const spelled = reEncode(canonical, (i) => bits[i % 64]);
      assert.equal(canonicalPath(spelled, o), canonical, `${spelled} (from ${p})`);
    }),
    { numRuns: 5000 },
  );
});

test('property: a canonical path holds only path characters and upper-case escapes', () => {
  fc.assert(
    fc.property(path, options, (p, o) => {
      const canonical = canonicalPath(p, o);
      if (canonical.charCodeAt(0) !== 47) return;
      assert.match(canonical, /^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-F]{2})*$/);
      if (!o.keepParams) assert.ok(!canonical.includes(';'));
      assert.ok(!/(^|\/)\.\.?(;[^/]*)?(\/|$)/.test(canonical), `no dot segment in ${canonical}`);
    }),
    { numRuns: 5000 },
  );
});
