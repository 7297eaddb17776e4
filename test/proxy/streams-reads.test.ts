// TCP streams read a target into a buffer of the connection's own (read_buffer_bytes) and reuse it from read to
// read: a client that does not read for a while leaves writes pending on that buffer, and not a byte may change.
// The other way, a target that does not read holds the client back: the gateway reads no more than it can pass on.
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { eventsWhere } from '../helpers/events.ts';
import { received, tcpConnect, tcpServer, type TcpServer } from '../helpers/tcp.ts';

const FLOOD_BYTES = 24 << 20;
/** Bytes no two reads of a buffer could produce by mistake: position-dependent, not repeating every 16 KB. */
const pattern = (at: number) => (at * 7 + (at >>> 14)) & 0xff;

/** Sends `total` bytes of the pattern as fast as the connection takes them, then ends. */
function flood(socket: Socket, total = FLOOD_BYTES): void {
  let at = 0;
  const more = () => {
    while (at < total) {
      const chunk = Buffer.alloc(Math.min(100_003, total - at));
      for (let i = 0; i < chunk.length; i++) chunk[i] = pattern(at + i);
      at += chunk.length;
      if (!socket.write(chunk)) return void socket.once('drain', more);
    }
    socket.end();
  };
  more();
}

let target: TcpServer;
let slowReader: TcpServer;
/** What slowReader's connection got, once its client ended. */
let uploaded: Promise<Buffer>;
let gw: TestGateway;

before(async () => {
  target = await tcpServer('', (socket) => flood(socket));
  let gotUpload: (data: Buffer) => void;
  uploaded = new Promise((r) => (gotUpload = r));
  slowReader = await tcpServer('', (socket) => {
    socket.pause();
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('end', () => {
      gotUpload(Buffer.concat(chunks));
      socket.end();
    });
    setTimeout(() => socket.resume(), 1000);
  });
  const stream = (name: string, readBufferBytes: number) => ({
    name,
    listen: '127.0.0.1:0',
    read_buffer_bytes: readBufferBytes,
    upstream: { targets: [{ url: `tcp://127.0.0.1:${target.port}` }] },
  });
  gw = await startGateway({
    streams: [
      stream('own-buffer', 16384),
      stream('node-reads', 0),
      { name: 'upload', listen: '127.0.0.1:0', upstream: { targets: [{ url: `tcp://127.0.0.1:${slowReader.port}` }] } },
    ],
  });
});

after(async () => {
  await gw?.close();
  await target?.close();
  await slowReader?.close();
});

for (const name of ['own-buffer', 'node-reads']) {
  test(`${name}: a client that stops reading, then reads on, gets every byte in order, and it is counted`, async () => {
    const client = await tcpConnect(gw.port(name));
    client.pause();
    // The target keeps sending while nothing is read: the client's socket fills and the gateway's writes wait.
    await new Promise((r) => setTimeout(r, 300));
    const answer = received(client, 15_000);
    client.resume();
    const { data, closed } = await answer;
    assert.equal(closed, true, 'the target ending ends the client connection');
    assert.equal(data.length, FLOOD_BYTES);
    for (let i = 0; i < data.length; i++)
      if (data[i] !== pattern(i)) assert.fail(`byte ${i} is ${data[i]}, not ${pattern(i)}`);
    client.destroy();
    const [event] = await eventsWhere(gw, (e) => e.service === name);
    assert.equal(event?.bytesOut, FLOOD_BYTES);
  });
}

test('a target that stops reading holds the client back, then gets every byte in order, counted', async () => {
  const client = await tcpConnect(gw.port('upload'));
  let sent = false;
  client.on('finish', () => (sent = true));
  const total = 3 * FLOOD_BYTES;
  flood(client, total);
  // With the target not reading, only the sockets' kernel buffers hold what was sent: the client cannot be done.
  await new Promise((r) => setTimeout(r, 700));
  assert.equal(sent, false, `the gateway read ${client.bytesWritten} bytes ahead of a target that reads nothing`);
  const data = await uploaded;
  assert.equal(data.length, total);
  for (let i = 0; i < data.length; i++) if (data[i] !== pattern(i)) assert.fail(`byte ${i} is ${data[i]}`);
  client.destroy();
  const [event] = await eventsWhere(gw, (e) => e.service === 'upload');
  assert.equal(event?.bytesIn, total);
});
