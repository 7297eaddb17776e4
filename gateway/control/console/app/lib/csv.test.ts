import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toCsv } from './csv.ts';

test('quotes fields with commas, quotes and line breaks; objects as JSON; CRLF rows', () => {
  const csv = toCsv(
    ['a', 'b', 'c'],
    [
      { a: 'x,y', b: 'say "hi"', c: { h2: 1 } },
      { a: 'line\nbreak', b: 7, c: undefined },
    ],
  );
  assert.equal(csv, 'a,b,c\r\n"x,y","say ""hi""","{""h2"":1}"\r\n"line\nbreak",7,\r\n');
});
