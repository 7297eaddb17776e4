import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeValue } from './decode.ts';
import {
  CLEAN,
  inspectHeaders,
  inspectJsonText,
  inspectLenientJsonText,
  inspectPath,
  inspectQuery,
  inspectValue,
  SQLI,
  XSS,
} from './inspect.ts';
import { DEFAULT_RULES as rules } from './corpus/evaluate.ts';

const v = (s: string) => inspectValue(s, true, rules);

test('decoding undoes URL (twice over), %u, \\u, \\x and HTML entity encodings, and stops after three rounds', () => {
  assert.equal(decodeValue('%2527', false), "'");
  assert.equal(decodeValue('%u0027%20or', false), "' or");
  assert.equal(decodeValue('\\u003cscript\\x3e', false), '<script>');
  assert.equal(decodeValue('&#x6A&#97;&lt;&quot;&apos;', false), 'ja<"\'');
  assert.equal(decodeValue('a+b', true), 'a b');
  assert.equal(decodeValue('a+b', false), 'a+b');
  assert.equal(decodeValue('%25252527', false), '%27', 'four layers: the fourth is left');
  assert.equal(decodeValue('100%', false), '100%', 'a stray % is kept');
  assert.equal(decodeValue('%E4%B8%AD%E6%96%87', false), '中文');
  assert.equal(decodeValue('％', false), '%', 'full-width forms are folded');
});

test('classic SQL injection shapes are found in every quoting context', () => {
  for (const s of [
    "' or 1=1--",
    '" or ""="',
    '1 or 1=1',
    "admin'--",
    "1' union select 1,2--",
    '1; drop table users',
    "' and sleep(5)#",
    '1 and benchmark(1000000,md5(1))',
    "'; waitfor delay '0:0:5'--",
    "' and extractvalue(1,concat(0x7e,version()))--",
    '1 union select table_name from information_schema.tables',
  ]) {
    assert.equal(v(s), SQLI, s);
  }
});

test('evasions: inline comments, MySQL version comments, case mixing, newlines and double encoding', () => {
  for (const s of [
    '1/**/UnIoN/**/SeLeCt/**/1,2',
    '1 /*!50000union*/ /*!50000select*/ 1,2',
    '1%0aunion%0aselect%0a1,2',
    '%2527%2520or%25201%253D1--',
    '-1 or 1=1',
  ]) {
    assert.equal(v(s), SQLI, s);
  }
});

test('SQL words in plain language are not injection', () => {
  for (const s of [
    "O'Brien's pub",
    "rock 'n' roll",
    'drop shipping',
    'select committee',
    'european union select committee members',
    'order by price',
    'salt and pepper',
    '5 or more',
    '3 or 4 stars',
    "it's 1 or 2",
    "'quoted' and 'more'",
    '"like garden"',
    '"having null"',
    'sleep(3) man page',
    'sleep(5) hours',
    'SELECT * FROM t',
    'how to use union all in sql',
    'information_schema tutorial',
    "Tom's; drop-off point",
    'Why is 1=1 true?',
    'rating >= 4',
  ]) {
    assert.equal(v(s), CLEAN, s);
  }
});

test(
  'XSS vectors are found: tags, handlers, javascript: URLs, ' +
    'entity-encoded schemes, CSS expressions, JS string breaks, templates',
  () => {
    for (const s of [
      '<script>alert(1)</script>',
      '<svg/onload=alert(1)>',
      '<img src=x onerror=alert(1)>',
      '<a href="jav&#x09;ascript:alert(1)">',
      'javascript:alert(1)',
      '<div style="width: expression(alert(1))">',
      "';alert(1);//",
      '" autofocus onfocus=alert(1) x="',
      "{{constructor.constructor('alert(1)')()}}",
      '%253Cscript%253E',
      '＜script＞alert(1)＜/script＞',
      '<iframe srcdoc="x">',
      'data:text/html;base64,PHNjcmlwdD4=',
    ]) {
      assert.equal(inspectValue(s, false, rules), XSS, s);
    }
  },
);

test('angle brackets, colons and HTML that runs nothing are not XSS', () => {
  for (const s of [
    'List<String>',
    'a < b && c > d',
    '<3',
    'javascript: the good parts',
    '<p>Hello <strong>world</strong></p>',
    '<a href="https://example.com">docs</a>',
    '<img src="https://cdn.example.com/cat.png" alt="cat">',
    'mailto:john@example.com',
    'data:image/png;base64,iVBORw0KGgo=',
    'onion rings',
    'title="Manager"',
    '{{ user.name }}',
  ]) {
    assert.equal(inspectValue(s, false, rules), CLEAN, s);
  }
});

test('regression: an event handler with junk before = and one right after a quote are found', () => {
  assert.equal(inspectValue('<BODY onload!#$%&()*~+-_.,:;?@[/|\\]^`=alert("XSS")>', false, rules), XSS);
  assert.equal(inspectValue('"onmouseover=alert(1)//', false, rules), XSS);
  assert.equal(inspectValue('<svg/**/onload=alert(1)>', false, rules), XSS, 'a comment that separates');
  assert.equal(
    inspectValue('<IMG STYLE="xss:expr/*XSS*/ession(alert(1))">', false, rules),
    XSS,
    'a comment that joins',
  );
});

test('known false positives: a script tag named in prose, arithmetic with or', () => {
  assert.equal(inspectValue('<script> tag explained', false, rules), XSS);
  assert.equal(inspectValue('1 or 2 = 3', false, rules), SQLI);
});

test('query: keys and values on their own, + as space; a clean query is passed by the pre-scan', () => {
  assert.equal(inspectQuery('q=red+shoes&page=2&sort=-price', rules), CLEAN);
  assert.equal(inspectQuery('id=1+or+1%3D1', rules), SQLI);
  assert.equal(inspectQuery('id=1 or 1=1', rules), SQLI, 'a second = in one pair is suspicious');
  assert.equal(inspectQuery("name'+or+'1'%3D'1=x", rules), SQLI, 'the key is inspected too');
  assert.equal(inspectQuery('next=javascript%3Aalert(1)', rules), XSS);
});

test('path: XSS over the whole path, SQL per segment', () => {
  assert.equal(inspectPath('/api/users/42', rules), CLEAN);
  assert.equal(inspectPath("/users/O'Brien/orders", rules), CLEAN);
  assert.equal(inspectPath('/products/1%20or%201=1/reviews', rules), SQLI);
  assert.equal(inspectPath('/search/%3Cscript%3Ealert(1)%3C/script%3E', rules), XSS);
});

test('headers: the named ones and x-* prefixes; cookies pair by pair; other headers are not read', () => {
  const ua =
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';
  assert.equal(
    inspectHeaders({ 'user-agent': ua, cookie: 'session=abc; _ga=GA1.2.3.4; prefs=eyJ0aGVtZSI6ImRhcmsifQ==' }, rules),
    CLEAN,
  );
  assert.equal(inspectHeaders({ 'x-forwarded-for': "1' or '1'='1" }, rules), SQLI);
  assert.equal(inspectHeaders({ cookie: 'a=1; pref=<script>alert(1)</script>' }, rules), XSS);
  assert.equal(inspectHeaders({ referer: 'https://shop.example/s?q=%3Csvg%2Fonload%3Dalert(1)%3E' }, rules), XSS);
  assert.equal(inspectHeaders({ authorization: "' or 1=1--" }, rules), CLEAN, 'not in the default set');
  assert.equal(inspectHeaders({ authorization: "' or 1=1--" }, { ...rules, headerNames: ['authorization'] }), SQLI);
});

test('JSON: every string literal, keys too, at any depth and each duplicate; numbers and booleans are not read', () => {
  const json = (v: unknown) => inspectJsonText(JSON.stringify(v), rules);
  assert.equal(json({ user: { name: "O'Brien", tags: ['a', 'b'], age: 3, ok: true } }), CLEAN);
  assert.equal(json({ a: [{ b: { c: "' union select password from users--" } }] }), SQLI);
  assert.equal(json({ '<img src=x onerror=alert(1)>': 1 }), XSS);
  let deep: unknown = '<script>alert(1)</script>';
  for (let i = 0; i < 40; i++) deep = [deep];
  assert.equal(json(deep), XSS, 'deeper than any walk would go');
  // JSON.parse keeps the last of a duplicated key; a parser that keeps the first reads the other.
  assert.equal(inspectJsonText('{"q":"<script>alert(1)</script>","q":"fine"}', rules), XSS);
  assert.equal(inspectJsonText('{"q":"\\u003cscript>alert(1)\\u003c/script>"}', rules), XSS, 'escapes decoded');
  assert.equal(inspectJsonText('{"say":"a \\"quoted\\" word","n":[1,2]}', rules), CLEAN);
  assert.equal(inspectJsonText('{"cut":"<scr', rules), CLEAN, 'an unterminated string ends the scan');
});

test('JSON that JSON.parse refuses: its strings as lenient parsers read them (NaN, single quotes, comments)', () => {
  const lenient = (text: string) => inspectLenientJsonText(text, rules);
  assert.throws(() => JSON.parse('{"n": NaN}'));
  assert.equal(lenient('{"n": NaN, "q": "\' or 1=1--"}'), SQLI, "Python's json"); // Python: json.loads takes NaN
  assert.equal(lenient("{'q': '<script>alert(1)</script>'}"), XSS, 'JSON5 / Json.NET single quotes');
  assert.equal(lenient('{"q": "<svg onload=alert(1)>" /* it\'s */,}'), XSS, 'comment and trailing comma');
  assert.equal(lenient('{q: "\\x3cscript\\x3ealert(1)\\x3c/script\\x3e"}'), XSS, '\\x escapes, bare key');
  assert.equal(lenient('{"a": 1 // it\'s\n, "q": "<script>alert(1)</script>"}'), XSS, "a comment's quote");
  assert.equal(lenient(`{'q': "\\" or 1=1--"}`), SQLI, 'an escaped quote');
  assert.equal(lenient('{"cut": "<script>alert(1)'), XSS, 'an unterminated string to the end');
  assert.equal(lenient(`{'name': "O'Brien", "n": NaN, 'note': 'drop shipping', /* c */}`), CLEAN);
});

test('sqli: false or xss: false turns that detector off', () => {
  assert.equal(inspectValue("' or 1=1--", false, { ...rules, sqli: false }), CLEAN);
  assert.equal(inspectValue('<script>alert(1)</script>', false, { ...rules, xss: false }), CLEAN);
});

test('a value longer than the limit is inspected up to the limit', () => {
  const long = 'a'.repeat(2000) + "' or 1=1--";
  assert.equal(inspectValue(long, false, { ...rules, maxChars: 1024 }), CLEAN);
  assert.equal(inspectValue(long, false, rules), SQLI, 'within the default limit it is found');
  assert.equal(inspectValue("x' or 1=1--" + 'a'.repeat(2000), false, { ...rules, maxChars: 1024 }), SQLI);
});
