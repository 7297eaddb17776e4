// gRPC-Web, as a browser speaks it (HTTP/1.1, binary and base64 text), through the gateway to a gRPC server on h2c.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import * as loader from '@grpc/proto-loader';
import { request } from 'undici';
import { startEchoServer, type EchoServer } from '../../gateway/examples/grpc/server.ts';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { eventsWhere } from '../helpers/events.ts';

const echo = loader.loadSync(new URL('../../gateway/examples/grpc/echo.proto', import.meta.url).pathname, {
  keepCase: true,
  defaults: true,
}) as unknown as Record<string, Record<string, loader.MethodDefinition<object, Record<string, unknown>>>>;
const method = (name: string) => echo['helloworld.Echo'][name];
const ORIGIN = 'https://app.example.test';

let server: EchoServer;
let plain: Server;
let gw: TestGateway;

before(async () => {
  server = await startEchoServer();
  // An HTTP/1.1 service that answers with the content type and body it got: gRPC-Web passes to it untranslated.
  plain = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => res.end(`${req.headers['content-type']} ${Buffer.concat(chunks).toString()}`));
  });
  await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
  const h2c = { protocol: 'h2c', targets: [{ url: `http://127.0.0.1:${server.port}` }] };
  gw = await startGateway({
    listeners: [{ name: 'internal', listen: '127.0.0.1:0', protocols: ['h2c'] }],
    services: [
      {
        name: 'keyed',
        routes: [{ paths: ['/helloworld.Echo/'], headers: { 'x-lane': 'keyed' } }],
        auth: { type: 'api_key' },
        upstream: h2c,
      },
      {
        name: 'web',
        routes: [{ paths: ['/helloworld.Echo/'], grpc: true }],
        cors: {
          allow_origins: [ORIGIN],
          allow_headers: ['content-type', 'x-grpc-web', 'x-user-agent', 'grpc-timeout'],
          expose_headers: ['grpc-status', 'grpc-message'],
        },
        upstream: h2c,
      },
      {
        name: 'legacy',
        routes: [{ paths: ['/legacy/'] }],
        upstream: { targets: [{ url: `http://127.0.0.1:${(plain.address() as AddressInfo).port}` }] },
      },
    ],
  });
});
after(async () => {
  await gw?.close();
  await server?.close();
  plain?.close();
});

/** One length-prefixed message (flag 0). */
function frame(payload: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

/** A gRPC-Web body split into its frames: messages (flag 0) and the trailer block (flag 0x80) as a map. */
function parseBody(body: Buffer): { messages: Buffer[]; trailers: Record<string, string> | undefined } {
  const messages: Buffer[] = [];
  let trailers: Record<string, string> | undefined;
  for (let at = 0; at < body.length; ) {
    const length = body.readUInt32BE(at + 1);
    const payload = body.subarray(at + 5, at + 5 + length);
    if (body[at] & 0x80) {
      trailers = {};
      for (const line of payload.toString().split('\r\n').filter(Boolean)) {
        const colon = line.indexOf(':');
        trailers[line.slice(0, colon)] = line.slice(colon + 1).trim();
      }
    } else messages.push(payload);
    at += 5 + length;
  }
  return { messages, trailers };
}

/** Base64 text as a gRPC-Web server may send it: padded segments one after another. */
function fromText(text: string): Buffer {
  return Buffer.concat((text.match(/[A-Za-z0-9+/]+={0,2}/g) ?? []).map((s) => Buffer.from(s, 'base64')));
}

async function call(path: string, contentType: string, body: Buffer | string, headers: Record<string, string> = {}) {
  const res = await request(`${gw.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': contentType, 'x-grpc-web': '1', origin: ORIGIN, ...headers },
    body,
  });
  return { status: res.statusCode, headers: res.headers, body: Buffer.from(await res.body.arrayBuffer()) };
}

test('a unary gRPC-Web call over HTTP/1.1 gets its reply, its status in a trailer frame, and is counted', async () => {
  const res = await call(
    '/helloworld.Echo/Unary',
    'application/grpc-web+proto',
    frame(method('Unary').requestSerialize({ message: 'web-unary' })),
  );
  assert.equal(res.status, 200);
  assert.equal(res.headers['content-type'], 'application/grpc-web+proto');
  assert.equal(res.headers['access-control-expose-headers'], 'grpc-status, grpc-message');
  const { messages, trailers } = parseBody(res.body);
  assert.equal(messages.length, 1);
  assert.equal(method('Unary').responseDeserialize(messages[0]).message, 'web-unary');
  assert.equal(trailers?.['grpc-status'], '0');
  const [event] = await eventsWhere(gw, (e) => e.grpcMethod === '/helloworld.Echo/Unary' && e.service === 'web');
  assert.deepEqual(
    [event?.protocol, event?.grpcStatus, event?.messagesIn, event?.messagesOut, event?.status],
    ['grpc', 0, 1, 1, 200],
  );
  assert.equal(event.bytesOut, res.body.length, 'bytes out are what the client got, trailer frame included');
});

test('a server stream in text mode: base64 both ways, the request sent as padded segments', async () => {
  const request = frame(method('ServerStream').requestSerialize({ message: 'web-text', repeat: 3 }));
  // Split where a flushing client would pad: two segments, each encoded on its own.
  const text = request.subarray(0, 4).toString('base64') + request.subarray(4).toString('base64');
  assert.match(text, /=.+/, 'padding inside the body');
  const res = await call('/helloworld.Echo/ServerStream', 'application/grpc-web-text+proto', text);
  assert.equal(res.status, 200);
  assert.equal(res.headers['content-type'], 'application/grpc-web-text+proto');
  assert.match(res.body.toString(), /^[A-Za-z0-9+/=]+$/);
  const { messages, trailers } = parseBody(fromText(res.body.toString()));
  assert.deepEqual(
    messages.map((m) => method('ServerStream').responseDeserialize(m).index),
    [0, 1, 2],
  );
  assert.equal(trailers?.['grpc-status'], '0');
  const [event] = await eventsWhere(gw, (e) => e.grpcMethod === '/helloworld.Echo/ServerStream');
  assert.deepEqual([event?.messagesIn, event?.messagesOut], [1, 3], 'messages counted in the decoded bodies');
});

test("the upstream's failure reaches the client: after replies in the trailer frame, alone in the head", async () => {
  const stream = await call(
    '/helloworld.Echo/ServerStream',
    'application/grpc-web+proto',
    frame(method('ServerStream').requestSerialize({ message: 'x', repeat: 2, fail_code: 9 })),
  );
  const { messages, trailers } = parseBody(stream.body);
  assert.equal(messages.length, 2);
  const message = decodeURIComponent(trailers?.['grpc-message'] ?? ''); // percent-encoded, as in gRPC
  assert.deepEqual([trailers?.['grpc-status'], message], ['9', 'failed as asked (9)']);
  const unary = await call(
    '/helloworld.Echo/Unary',
    'application/grpc-web+proto',
    frame(method('Unary').requestSerialize({ message: 'x', fail_code: 5 })),
  );
  assert.equal(unary.headers['grpc-status'], '5', 'trailers-only: the status in the head');
  assert.equal(unary.body.length, 0);
});

test("the gateway's own refusals are gRPC-Web: HTTP 200 with the status in the head", async () => {
  const body = frame(method('Unary').requestSerialize({ message: 'x' }));
  const refused = await call('/helloworld.Echo/Unary', 'application/grpc-web+proto', body, { 'x-lane': 'keyed' });
  assert.equal(refused.status, 200);
  assert.equal(refused.headers['content-type'], 'application/grpc-web+proto');
  assert.equal(refused.headers['grpc-status'], '16', 'UNAUTHENTICATED');
  assert.equal(refused.headers['tollgate-error-code'], 'GW_ERR_UNAUTHORIZED');
  const bad = await call('/helloworld.Echo/Unary', 'application/grpc-web-text', 'not base64!');
  assert.equal(bad.headers['grpc-status'], '13', 'INTERNAL');
  assert.equal(bad.headers['tollgate-error-code'], 'GW_ERR_GRPC_WEB_BAD_BODY');
  const timeout = await call('/helloworld.Echo/Unary', 'application/grpc-web', body, { 'grpc-timeout': 'soon' });
  assert.equal(timeout.headers['tollgate-error-code'], 'GW_ERR_GRPC_TIMEOUT_INVALID');
  const plainRequest = await request(`${gw.url}/helloworld.Echo/Unary`, { method: 'POST', body: 'x' });
  await plainRequest.body.dump();
  assert.equal(plainRequest.statusCode, 415, 'a gRPC-only route still refuses what is neither gRPC nor gRPC-Web');
});

test("a browser's preflight is answered with the headers gRPC-Web needs", async () => {
  const res = await request(`${gw.url}/helloworld.Echo/Unary`, {
    method: 'OPTIONS',
    headers: {
      origin: ORIGIN,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type,x-grpc-web,x-user-agent,grpc-timeout',
    },
  });
  await res.body.dump();
  assert.equal(res.statusCode, 204);
  assert.equal(res.headers['access-control-allow-origin'], ORIGIN);
  assert.match(String(res.headers['access-control-allow-headers']), /x-grpc-web/);
});

test('gRPC-Web over HTTP/2 is translated too; to an HTTP/1.1 upstream it goes as it came', async () => {
  const session = connect(`http://127.0.0.1:${gw.port('internal')}`);
  try {
    const stream = session.request({
      ':method': 'POST',
      ':path': '/helloworld.Echo/Unary',
      'content-type': 'application/grpc-web',
    });
    stream.end(frame(method('Unary').requestSerialize({ message: 'over-h2' })));
    const chunks: Buffer[] = [];
    const [headers] = await Promise.all([
      new Promise<Record<string, unknown>>((r) => stream.once('response', r)),
      new Promise((r) => stream.on('data', (c: Buffer) => chunks.push(c)).once('end', r)),
    ]);
    assert.equal(headers['content-type'], 'application/grpc-web');
    const { messages, trailers } = parseBody(Buffer.concat(chunks));
    assert.equal(method('Unary').responseDeserialize(messages[0]).message, 'over-h2');
    assert.equal(trailers?.['grpc-status'], '0');
  } finally {
    session.close();
  }
  const legacy = await call('/legacy/x', 'application/grpc-web-text', 'AAAA');
  assert.equal(legacy.body.toString(), 'application/grpc-web-text AAAA');
});
