/**
 * An upstream status past 599 is invalid (RFC 9110 15) and HTTP/2 cannot carry one: Node throws when asked to send
 * it. Through an h2c upstream (the gateway's own HTTP/2 client) and a refused WebSocket handshake, that exception was
 * thrown from an event handler and took the gateway down. Now the client gets 502 and the gateway serves on; an
 * HTTP/1.1 client gets 502 too (it was given the status as sent), as nginx answers one.
 */
import assert from 'node:assert/strict';
import { connect as h2Connect } from 'node:http2';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { service, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { startRawUpstream, type RawUpstream } from '../helpers/raw-upstream.ts';
import { h2Request } from '../helpers/tls-client.ts';
import { send } from '../helpers/http-client.ts';
import { END_HEADERS, END_STREAM, FRAME, frame } from '../helpers/h2-frames.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { h2Handshake } from '../helpers/raw-websocket.ts';

let refusing: RawUpstream;
let h2c: Server;
const h2cSockets = new Set<Socket>();
let plain: TestUpstream;
let gw: TestGateway;

/**
 * A bare HTTP/2 server (node:http2 refuses to send such a status): SETTINGS, then each stream the client opens is
 * answered with one HEADERS frame, `:status: 600` (HPACK: literal, name index 8) and END_STREAM.
 */
const SIX_HUNDRED = Buffer.from([0x08, 0x03, 0x36, 0x30, 0x30]);

function statusSixHundred(socket: Socket): void {
  h2cSockets.add(socket);
  socket.on('close', () => h2cSockets.delete(socket));
  socket.on('error', () => undefined);
  socket.write(frame(FRAME.SETTINGS, 0, 0));
  let buf = Buffer.alloc(0);
  let skip = 24; // the client's preface
  socket.on('data', (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    if (skip > 0) {
      const n = Math.min(skip, buf.length);
      buf = buf.subarray(n);
      skip -= n;
    }
    while (buf.length >= 9 && buf.length >= 9 + buf.readUIntBE(0, 3)) {
      const length = buf.readUIntBE(0, 3);
      const [type, flags, id] = [buf[3], buf[4], buf.readUInt32BE(5) & 0x7fffffff];
      buf = buf.subarray(9 + length);
      if (type === FRAME.SETTINGS && (flags & 1) === 0) socket.write(frame(FRAME.SETTINGS, 1, 0)); // its ACK
      if (type === FRAME.HEADERS) socket.write(frame(FRAME.HEADERS, END_STREAM | END_HEADERS, id, SIX_HUNDRED));
    }
  });
}

before(async () => {
  refusing = await startRawUpstream((socket) =>
    socket.write('HTTP/1.1 600 Nope\r\nContent-Type: text/plain\r\nContent-Length: 4\r\n\r\nnope'),
  );
  h2c = createServer(statusSixHundred);
  await new Promise<void>((resolve) => h2c.listen(0, '127.0.0.1', resolve));
  plain = await startUpstream('plain');
  gw = await startGateway({
    listeners: [{ name: 'h2c', listen: '127.0.0.1:0', protocols: ['h2c', 'http/1.1'] }],
    services: [
      service('ws', [refusing.url], [{ paths: ['/ws'] }]),
      service('six', [`http://127.0.0.1:${(h2c.address() as { port: number }).port}`], [{ paths: ['/six'] }], {
        protocol: 'h2c',
        retries: 0,
      }),
      service('plain', [plain.url], [{ paths: ['/plain'] }]),
      service('six-h1', [refusing.url], [{ paths: ['/six-h1'] }], { retries: 0 }),
    ],
  });
});
after(async () => {
  await gw?.close();
  await refusing?.close();
  for (const s of h2cSockets) s.destroy();
  h2c?.close();
  await plain?.close();
});

/** A WebSocket over HTTP/2 (RFC 8441): the status the extended CONNECT got. */
function webSocketOverH2(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const session = h2Connect(`http://127.0.0.1:${port}`);
    session.on('error', reject);
    session.once('remoteSettings', () => {
      const stream = session.request(h2Handshake(path));
      stream.on('response', (h) => {
        resolve(Number(h[':status']));
        session.destroy();
      });
      stream.on('error', reject);
    });
  });
}

test('a status past 599 from an h2c upstream or a WebSocket target is a 502 to an HTTP/2 client', async () => {
  const port = gw.port('h2c');
  assert.equal((await h2Request(port, '/six/call', undefined)).status, 502);
  assert.equal(await webSocketOverH2(port, '/ws/chat'), 502);
  assert.equal((await h2Request(port, '/plain/after', undefined)).status, 200, 'and the gateway serves on');
});

test('a status past 599 from an HTTP/1.1 upstream is a 502 to every client, not passed on', async () => {
  const h1 = await send(gw.url, '/six-h1/call');
  assert.equal(h1.status, 502);
  assert.equal(h1.json().code, 'GW_ERR_BAD_GATEWAY');
  assert.equal((await h2Request(gw.port('h2c'), '/six-h1/call', undefined)).status, 502);
});
