import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { connect } from 'node:tls';
import { test } from 'node:test';
import fc from 'fast-check';
import { clientHelloReader, readClientHello } from './client-hello.ts';

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

/** A handshake message as TLS records of the given fragment sizes (the last takes the rest). */
function inRecords(message: Buffer, sizes: readonly number[]): Buffer {
  const records: Buffer[] = [];
  for (let at = 0, i = 0; at < message.length; i++) {
    const part = message.subarray(at, i < sizes.length ? at + sizes[i]! : message.length);
    records.push(Buffer.from([22, 3, 1, part.length >> 8, part.length & 0xff]), part);
    at += part.length;
  }
  return Buffer.concat(records);
}

test('a ClientHello whose handshake header is split across records is read, as OpenSSL reads it', async () => {
  const body = (await helloOf('header.split.test')).subarray(5);
  for (const sizes of [[1], [1, 1, 1], [2, 1], [3, 5]])
    assert.deepEqual(readClientHello(inRecords(body, sizes)), { kind: 'hello', serverName: 'header.split.test' });
});

test('in records and chunks of any sizes, a reader waits until the last byte, then names the server', async () => {
  const hellos = await Promise.all(['a.test', 'Mixed.Case.Example', undefined].map(async (n) => [n, await helloOf(n)]));
  fc.assert(
    fc.property(
      fc.constantFrom(...hellos),
      fc.array(fc.integer({ min: 1, max: 300 }), { maxLength: 30 }),
      fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 20 }),
      ([name, hello], recordSizes, chunkSizes) => {
        const bytes = inRecords((hello as Buffer).subarray(5), recordSizes);
        const read = clientHelloReader();
        let at = 0;
        for (let i = 0; at + chunkSizes[i % chunkSizes.length]! < bytes.length; i++) {
          at += chunkSizes[i % chunkSizes.length]!;
          assert.deepEqual(read(bytes.subarray(0, at)), { kind: 'incomplete' }, `${at} of ${bytes.length} bytes`);
        }
        const serverName = ((name as string | undefined) ?? '').toLowerCase();
        assert.deepEqual(read(bytes), { kind: 'hello', serverName });
      },
    ),
    { numRuns: 300 },
  );
});

test('any bytes at all are a hello, not one, or not enough yet; never an exception', () => {
  const record = fc
    .uint8Array({ maxLength: 600 })
    .map((b) => Buffer.concat([Buffer.from([22, 3, 1, b.length >> 8, b.length & 0xff]), b]));
  const handshake = fc
    .tuple(fc.integer({ min: 0, max: 2000 }), fc.uint8Array({ maxLength: 600 }))
    .map(([n, b]) => Buffer.from([1, n >> 16, (n >> 8) & 0xff, n & 0xff, ...b]));
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 1000 }).map((b) => Buffer.from(b)),
        fc.array(record, { maxLength: 5 }).map((r) => Buffer.concat(r)),
        fc.tuple(handshake, fc.array(fc.integer({ min: 1, max: 100 }))).map(([m, s]) => inRecords(m, s)),
      ),
      (bytes) => {
        const kind = readClientHello(bytes).kind;
        assert.ok(['hello', 'not_tls', 'incomplete'].includes(kind), kind);
      },
    ),
    { numRuns: 2000 },
  );
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
