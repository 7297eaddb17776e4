import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CLEAN, SQLI, XSS } from './inspect.ts';
import { inspectMultipart, multipartBoundaries } from './multipart.ts';
import { DEFAULT_RULES as rules } from './corpus/evaluate.ts';

/** A multipart/form-data body with boundary `b`, its parts given as [headers, content]; `eol` between lines. */
function body(parts: [string[], string][], eol = '\r\n', close = true): string {
  const each = parts.map(([headers, content]) => `--b${eol}${headers.join(eol)}${eol}${eol}${content}${eol}`);
  return each.join('') + (close ? `--b--${eol}` : '');
}
const field = (name: string, value: string): [string[], string] => [
  [`Content-Disposition: form-data; name="${name}"`],
  value,
];

test('the boundaries: each the Content-Type names, quoted or not, and the one the body opens with', () => {
  const opening = '--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--x--\r\n';
  assert.deepEqual(multipartBoundaries('multipart/form-data; boundary=----WebKitx7', '--'), ['----WebKitx7']);
  assert.deepEqual(multipartBoundaries('multipart/form-data; BOUNDARY="a b:c"; charset=utf-8', ''), ['a b:c']);
  assert.deepEqual(multipartBoundaries('multipart/form-data; boundary=a; boundary=b', opening), ['a', 'b', 'x']);
  assert.deepEqual(multipartBoundaries('multipart/form-data; boundary=x', opening), ['x']);
  assert.deepEqual(multipartBoundaries('multipart/form-data', 'q=1'), []);
});

test("every field's name and value is inspected; a clean form is clean", () => {
  const clean = body([field('user', "O'Brien"), field('note', 'drop shipping; select committee')]);
  assert.equal(inspectMultipart(clean, 'b', rules), CLEAN);
  assert.equal(inspectMultipart(body([field('user', "admin'--"), field('p', 'x')]), 'b', rules), SQLI);
  assert.equal(inspectMultipart(body([field('<script>alert(1)</script>', '1')]), 'b', rules), XSS);
  assert.equal(inspectMultipart(body([field('q', "1' or 1=1--")], '\n'), 'b', rules), SQLI, 'bare LF lines');
  assert.equal(inspectMultipart(body([field('q', "1' or 1=1--")], '\r\n', false), 'b', rules), SQLI, 'not closed');
  assert.equal(inspectMultipart("q=admin'--", 'b', rules), undefined, 'no delimiter: not multipart');
});

test("an upload's bytes are not read, its filename is; a part without a filename is a field whatever its type", () => {
  const png = (content: string, filename = 'a.png'): [string[], string] => [
    [`Content-Disposition: form-data; name="f"; filename="${filename}"`, 'Content-Type: image/png'],
    content,
  ];
  assert.equal(inspectMultipart(body([png('<script>alert(1)</script>')]), 'b', rules), CLEAN);
  assert.equal(inspectMultipart(body([png('x', '<svg onload=alert(1)>.png')]), 'b', rules), XSS);
  const typed: [string[], string] = [
    [`Content-Disposition: form-data; name="q"`, 'Content-Type: image/png'],
    "' or 1=1--",
  ];
  assert.equal(inspectMultipart(body([typed]), 'b', rules), SQLI, 'PHP and busboy read it as the field q');
  const text: [string[], string] = [
    [`Content-Disposition: form-data; name="f"; filename="a.txt"`, 'Content-Type: text/plain'],
    "' or 1=1--",
  ];
  assert.equal(inspectMultipart(body([text]), 'b', rules), SQLI, 'a text upload is read');
  const quoted: [string[], string] = [[`Content-Disposition: form-data; name="q; filename=x"`], "' or 1=1--"];
  assert.equal(inspectMultipart(body([quoted]), 'b', rules), SQLI, 'a filename inside a quoted name is no filename');
});
