// TCP streams pass each chunk on and free its memory once written (write-then-free.ts): a client that does not
// read for a while leaves many writes pending, and not a byte may change before or after they are done. The other
// way, a target that does not read holds the client back: the gateway reads no more than it can pass on. Both
// directions plain, with TLS between client and gateway, and with TLS between gateway and target.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createServer as createTlsServer, connect as tlsConnect, type Server as TlsServer } from 'node:tls';
import { issue, makeCa } from '../helpers/certs.ts';
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

const dir = mkdtempSync(join(tmpdir(), 'tollgate-streams-flow-'));
const ca = makeCa(dir);
const front = issue(dir, ca, { cn: 'flow.test', dns: ['flow.test'] });

let target: TcpServer;
let slowReader: TcpServer;
/** The same two behind TLS: the gateway's upstream side is then a TLS socket. */
let tlsTarget: TlsServer;
let tlsSlowReader: TlsServer;
/** What each of slowReader's connections got, once its client ended, in the order they came. */
const uploads: ((data: Buffer) => void)[] = [];
let gw: TestGateway;

/** Reads nothing for a second, then all until the client's end: handed to the next of `uploads`. */
function readSlowly(socket: Socket): void {
  socket.pause();
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.on('end', () => {
    uploads.shift()?.(Buffer.concat(chunks));
    socket.end();
  });
  setTimeout(() => socket.resume(), 1000);
}

async function tlsServer(handler: (socket: Socket) => void): Promise<TlsServer> {
  const server = createTlsServer({ cert: readFileSync(front.cert), key: readFileSync(front.key) }, handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return server;
}

before(async () => {
  target = await tcpServer('', (socket) => flood(socket));
  slowReader = await tcpServer('', readSlowly);
  tlsTarget = await tlsServer((socket) => flood(socket));
  tlsSlowReader = await tlsServer(readSlowly);
  const stream = (name: string, port: number, tls: 'client' | 'target' | 'none') => ({
    name,
    listen: '127.0.0.1:0',
    ...(tls === 'client' ? { tls: { certificates: [front] } } : {}),
    upstream: {
      targets: [{ url: `tcp://127.0.0.1:${port}` }],
      ...(tls === 'target' ? { tls: { ca_file: ca.cert, server_name: 'flow.test' } } : {}),
    },
  });
  const portOf = (s: TlsServer) => (s.address() as AddressInfo).port;
  gw = await startGateway({
    streams: [
      stream('download', target.port, 'none'),
      stream('download-tls', target.port, 'client'),
      stream('download-tls-target', portOf(tlsTarget), 'target'),
      stream('upload', slowReader.port, 'none'),
      stream('upload-tls', slowReader.port, 'client'),
      stream('upload-tls-target', portOf(tlsSlowReader), 'target'),
    ],
  });
});

/** A client of the stream `name`: plain TCP, or TLS to the gateway for a `-tls` stream. */
async function connectTo(name: string): Promise<Socket> {
  if (!name.endsWith('-tls')) return tcpConnect(gw.port(name));
  const socket = tlsConnect({
    port: gw.port(name),
    host: '127.0.0.1',
    servername: 'flow.test',
    rejectUnauthorized: false,
  });
  await new Promise((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
  return socket;
}

after(async () => {
  await gw?.close();
  await target?.close();
  await slowReader?.close();
  tlsTarget?.close();
  tlsSlowReader?.close();
});

for (const name of ['download', 'download-tls', 'download-tls-target']) {
  test(`${name}: a client that stops reading, then reads on, gets every byte in order, and it is counted`, async () => {
    const client = await connectTo(name);
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

for (const name of ['upload', 'upload-tls', 'upload-tls-target'])
  test(`${name}: a target that stops reading holds the client back, then gets every byte, counted`, async () => {
    const uploaded = new Promise<Buffer>((r) => uploads.push(r));
    const client = await connectTo(name);
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
    const [event] = await eventsWhere(gw, (e) => e.service === name);
    assert.equal(event?.bytesIn, total);
  });
