import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { connect } from 'node:tls';
import { test } from 'node:test';
import { readClientHello } from './client-hello.ts';

/** The first bytes a real TLS client (Node's, OpenSSL) sends, asking for `servername` (none: by address). */
async function helloOf(servername?: string): Promise<Buffer> {
  const server = createServer();
  const first = new Promise<Buffer>((resolve) =>
    server.once('connection', (socket) => {
      let got = Buffer.alloc(0);
      socket.on('data', (c: Buffer) => {
        got = Buffer.concat([got, c]);
        const length = got.length >= 5 ? 5 + got.readUInt16BE(3) : Infinity;
        if (got.length >= length) {
          resolve(got.subarray(0, length));
          socket.destroy();
        }
      });
    }),
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const client = connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, servername });
  client.on('error', () => undefined);
  const hello = await first;
  client.destroy();
  server.close();
  return hello;
}

test('the server name of a real ClientHello, lower-cased; none when the client connected by address', async () => {
  assert.deepEqual(readClientHello(await helloOf('Db.Example.Test')), { kind: 'hello', serverName: 'db.example.test' });
  assert.deepEqual(readClientHello(await helloOf()), { kind: 'hello', serverName: '' });
});

test('a ClientHello split across records, or cut short, is reassembled or waited for', async () => {
  const hello = await helloOf('split.test');
  const body = hello.subarray(5);
  // The same handshake message in two records of its own.
  const record = (part: Buffer) => Buffer.concat([Buffer.from([22, 3, 1, part.length >> 8, part.length & 0xff]), part]);
  const split = Buffer.concat([record(body.subarray(0, 40)), record(body.subarray(40))]);
  assert.deepEqual(readClientHello(split), { kind: 'hello', serverName: 'split.test' });
  for (const n of [0, 3, 5, 44, 45, split.length - 1])
    assert.deepEqual(readClientHello(split.subarray(0, n)), { kind: 'incomplete' }, `${n} bytes`);
});

test('bytes that are no ClientHello are said to be so at once', () => {
  assert.deepEqual(readClientHello(Buffer.from('GET / HTTP/1.1\r\n')), { kind: 'not_tls' });
  assert.deepEqual(readClientHello(Buffer.from('*1\r\n$4\r\nPING\r\n')), { kind: 'not_tls' });
  // A handshake record holding another message than client_hello (2: server_hello).
  assert.deepEqual(readClientHello(Buffer.from([22, 3, 3, 0, 4, 2, 0, 0, 0])), { kind: 'not_tls' });
  // A server_name extension whose length runs past its end.
  const bad = Buffer.from([
    22,
    3,
    1,
    0,
    47,
    1,
    0,
    0,
    43,
    3,
    3,
    ...Buffer.alloc(32),
    0,
    0,
    2,
    0x13,
    1,
    1,
    0,
    0,
    4,
    0,
    0,
  ]);
  assert.deepEqual(readClientHello(bad), { kind: 'not_tls' });
});
