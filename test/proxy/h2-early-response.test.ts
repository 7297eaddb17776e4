/**
 * An HTTP/2 response that ends while the client is still sending its body (an upstream that answers an upload early,
 * or the gateway refusing one halfway) closes the stream with RST_STREAM NO_ERROR, as RFC 9113 8.1 has it: the client
 * stops sending and keeps the answer. Before, the gateway stopped reading and left the stream open, so the client
 * waited on flow control for good, holding one of its connection's streams.
 */
import assert from 'node:assert/strict';
import {
  type ClientHttp2Session,
  createServer as createH2cServer,
  connect as h2Connect,
  type Http2Server,
} from 'node:http2';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { after, before, test } from 'node:test';
import { eventually, service, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';

let upstream: TestUpstream;
let gw: TestGateway;
let grpcLike: Http2Server;
/** The gRPC server's streams that have closed, and how (their RST_STREAM code). */
const grpcClosed: number[] = [];

before(async () => {
  upstream = await startUpstream('early', (req: IncomingMessage, res: ServerResponse) => {
    // /early answers at once, reading none of the body; others read it all first.
    if (req.url === '/early') return void res.writeHead(413, { 'content-type': 'text/plain' }).end('no thanks');
    let n = 0;
    req.on('data', (c: Buffer) => (n += c.length));
    req.on('end', () => res.end(`read ${n}`));
  });
  // A gRPC server that answers a call whole (message and status trailers) on its first bytes, reading no further.
  grpcLike = createH2cServer();
  grpcLike.on('stream', (stream) => {
    stream.once('close', () => grpcClosed.push(stream.rstCode));
    stream.once('data', () => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': 'enough' }));
      stream.end(Buffer.from([0, 0, 0, 0, 0]));
    });
  });
  await new Promise<void>((resolve) => grpcLike.listen(0, '127.0.0.1', resolve));
  const grpcUrl = `http://127.0.0.1:${(grpcLike.address() as { port: number }).port}`;
  gw = await startGateway({
    proxy: { max_body_bytes: 4 << 20 },
    listeners: [{ name: 'h2c', listen: '127.0.0.1:0', protocols: ['h2c'] }],
    services: [
      service('up', [upstream.url]),
      service('grpc', [grpcUrl], [{ paths: ['/early.Calls/'] }], { protocol: 'h2c' }),
    ],
  });
});
after(async () => {
  await gw?.close();
  await upstream?.close();
  grpcLike?.close();
});

/** POSTs `bytes` (no Content-Length) on `session`, as fast as flow control lets it; what came back and how it ended. */
function upload(session: ClientHttp2Session, path: string, bytes: number, headers: Record<string, string> = {}) {
  type Result = { status: number; text: string; ended: boolean; rstCode: number | undefined; trailers?: string };
  return new Promise<Result>((resolve) => {
    const stream = session.request({ ':path': path, ':method': 'POST', ...headers });
    let status = 0;
    let text = '';
    let trailers: string | undefined;
    stream.on('response', (h) => (status = Number(h[':status'])));
    stream.on('trailers', (h) => (trailers = `${h['grpc-status']} ${h['grpc-message']}`));
    stream.on('data', (d) => (text += d));
    let ended = false;
    stream.on('end', () => (ended = true));
    stream.on('error', () => undefined);
    // Node's client keeps a stream whose writes are pending after RST_STREAM NO_ERROR until they finish, which they
    // never do: the RST_STREAM shows as the stream closed, and the stream is let go here.
    let resolved = false;
    const done = () => {
      if (resolved) return;
      resolved = true;
      const closed = stream.closed;
      clearInterval(check);
      stream.destroy();
      resolve({ status, text, ended, rstCode: closed ? stream.rstCode : -1, ...(trailers && { trailers }) });
    };
    const check = setInterval(() => stream.closed && done(), 20);
    const giveUp = setTimeout(done, 10_000);
    stream.on('close', () => {
      clearTimeout(giveUp);
      done();
    });
    const chunk = Buffer.alloc(Math.min(bytes, 64 * 1024));
    let sent = 0;
    const more = () => {
      while (sent < bytes && !stream.destroyed) {
        sent += chunk.length;
        if (!stream.write(chunk)) return void stream.once('drain', more);
      }
      if (!stream.destroyed) stream.end();
    };
    more();
  });
}

test('an answer that ends before the upload does closes the stream (NO_ERROR); the connection serves on', async (t) => {
  const session = h2Connect(`http://127.0.0.1:${gw.port('h2c')}`);
  t.after(() => session.destroy());
  const [early, tooLarge, whole] = await Promise.all([
    upload(session, '/early', 16 << 20),
    upload(session, '/big', 16 << 20), // past max_body_bytes: the gateway's own 413, halfway through
    upload(session, '/whole', 2 << 20),
  ]);
  assert.deepEqual(early, { status: 413, text: 'no thanks', ended: true, rstCode: 0 });
  assert.equal(tooLarge.status, 413);
  assert.equal(JSON.parse(tooLarge.text).code, 'GW_ERR_BODY_TOO_LARGE');
  assert.equal(tooLarge.rstCode, 0, 'closed with NO_ERROR, not left waiting');
  assert.ok(tooLarge.ended, 'after the end of its response');
  assert.deepEqual(whole, { status: 200, text: `read ${2 << 20}`, ended: true, rstCode: 0 });
  const again = await upload(session, '/again', 1024);
  assert.equal(again.text, 'read 1024', 'the same connection takes the next request');
});

test('a gRPC call answered whole while its client still streams keeps its status trailers', async (t) => {
  const session = h2Connect(`http://127.0.0.1:${gw.port('h2c')}`);
  t.after(() => session.destroy());
  const grpc = { 'content-type': 'application/grpc', te: 'trailers' };
  const call = await upload(session, '/early.Calls/Stream', 16 << 20, grpc);
  assert.deepEqual(call, { status: 200, text: '\0\0\0\0\0', ended: true, rstCode: 0, trailers: '0 enough' });
  // The gateway's stream to the server had the rest of the body to send: it is let go once no more of it comes, where
  // it stayed open before, holding its connection to the server for good.
  const closed = grpcClosed.length;
  const letGo = await eventually(() => grpcClosed.length > closed, 5000);
  assert.ok(letGo, 'the stream to the gRPC server is closed');
});
