import assert from 'node:assert/strict';
import { test } from 'node:test';
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync, zstdCompressSync } from 'node:zlib';
import { decodedBody } from './content-encoding.ts';

const text = Buffer.from('{"q":"hello"}');

test('gzip, deflate (zlib-wrapped or raw), br and zstd are undone, stacked codings last applied first', () => {
  for (const [coding, encoded] of [
    ['gzip', gzipSync(text)],
    ['X-Gzip', gzipSync(text)],
    ['deflate', deflateSync(text)],
    ['deflate', deflateRawSync(text)],
    ['br', brotliCompressSync(text)],
    ['zstd', zstdCompressSync(text)],
    ['gzip, br', brotliCompressSync(gzipSync(text))],
    ['identity', text],
  ] as const)
    assert.deepEqual(decodedBody(encoded, coding, 1024), text, coding);
  assert.equal(decodedBody(text, undefined, 1024), text, 'no coding: the body itself');
});

test('a coding not known or data not in it is undecodable; more output than the limit is too large', () => {
  assert.equal(decodedBody(text, 'compress', 1024), 'undecodable');
  assert.equal(decodedBody(text, 'gzip', 1024), 'undecodable');
  // A bomb: 10 MB of zeros in about 10 KB; inflating stops at the limit.
  const bomb = gzipSync(Buffer.alloc(10 * 1024 * 1024));
  assert.ok(bomb.length < 20_000);
  assert.equal(decodedBody(bomb, 'gzip', 65536), 'too_large');
  assert.equal(decodedBody(brotliCompressSync(Buffer.alloc(1024 * 1024)), 'br', 65536), 'too_large');
});
