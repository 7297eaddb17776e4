import assert from 'node:assert/strict';
import { METHODS } from 'node:http';
import { test } from 'node:test';
import { firstByteSpeaks } from './plain-http-front.ts';

test('a request line of any method Node parses is plain HTTP', () => {
  for (const method of METHODS) assert.equal(firstByteSpeaks(Buffer.from(`${method} / HTTP/1.1\r\n`)), 'http', method);
});

test('a TLS record of any content type, and an SSLv2-style hello, go to TLS', () => {
  for (const type of [0x14, 0x15, 0x16, 0x17]) assert.equal(firstByteSpeaks(Buffer.from([type, 0x03, 0x01])), 'tls');
  assert.equal(firstByteSpeaks(Buffer.from([0x80, 0x2e, 0x01])), 'tls');
  // Not HTTP either: left to the TLS server, which fails the handshake as before.
  assert.equal(firstByteSpeaks(Buffer.from('get / HTTP/1.1\r\n')), 'tls');
});
