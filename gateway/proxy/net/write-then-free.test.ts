import assert from 'node:assert/strict';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { writeThenFree } from './write-then-free.ts';

let received: Buffer[] = [];
let sender: Socket;
const server = createServer((socket) => socket.on('data', (d: Buffer) => received.push(Buffer.from(d))));

before(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  sender = connect((server.address() as AddressInfo).port, '127.0.0.1');
  await new Promise((r) => sender.once('connect', r));
});

after(() => {
  sender.destroy();
  server.close();
});

/** Writes with writeThenFree and waits until the peer has every byte and the write's callback has run. */
async function send(chunk: Buffer): Promise<Buffer> {
  received = [];
  const expected = Buffer.from(chunk); // a copy: the chunk itself may be gone once written
  writeThenFree(sender, chunk);
  while (Buffer.concat(received).length < expected.length) await new Promise((r) => setTimeout(r, 5));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(Buffer.concat(received), expected);
  return chunk;
}

const detached = (b: Buffer) => (b.buffer as ArrayBuffer).detached;

test('a chunk that is its whole ArrayBuffer arrives intact and its memory is freed once written', async () => {
  const chunk = await send(Buffer.allocUnsafeSlow(256 * 1024).fill(7));
  assert.equal(detached(chunk), true);
  assert.equal(chunk.length, 0);
});

test('a slice of a larger buffer, or of the shared pool, is written and left alone', async () => {
  const whole = Buffer.alloc(4096, 1);
  const slice = await send(whole.subarray(0, 1024));
  assert.equal(detached(slice), false);
  assert.equal(whole[4095], 1);
  const pooled = await send(Buffer.from('a pooled string'));
  assert.equal(detached(pooled), false);
});
