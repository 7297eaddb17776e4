// What an HTTP/2 client or a gRPC upstream may send that Node passes on and HTTP/1.1 never sees: any method token
// (Node's HTTP/1.1 parser takes only those http.METHODS lists), a CONNECT to a host, a grpc-status that is no code.
// Each is refused as over HTTP/1.1 or read as gRPC reads it, and every such request is counted: a method of 5,000
// characters, or a grpc-status of 99999999999999999999, made the access event too long to record.
import assert from 'node:assert/strict';
import { connect, createServer, type ClientHttp2Session, type Http2Server } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { eventsWhere } from '../helpers/events.ts';
import { service, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';

let up: TestUpstream;
let grpcUp: Http2Server;
let gw: TestGateway;
let client: ClientHttp2Session;

before(async () => {
  up = await startUpstream('api');
  // A gRPC server answering each call with the grpc-status its x-status header names.
  grpcUp = createServer();
  grpcUp.on('stream', (s, h) => {
    s.resume();
    s.on('end', () => {
      s.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      s.on('wantTrailers', () => s.sendTrailers({ 'grpc-status': String(h['x-status']) }));
      s.end();
    });
  });
  await new Promise<void>((r) => grpcUp.listen(0, '127.0.0.1', r));
  const grpcTarget = `http://127.0.0.1:${(grpcUp.address() as AddressInfo).port}`;
  gw = await startGateway({
    listeners: [{ name: 'h2c', listen: '127.0.0.1:0', protocols: ['h2c'] }],
    services: [
      service('api', [up.url], [{ paths: ['/'] }]),
      {
        name: 'rpc',
        routes: [{ paths: ['/p.S/'], grpc: true }],
        upstream: { protocol: 'h2c', targets: [{ url: grpcTarget }] },
      },
    ],
  });
  client = connect(`http://127.0.0.1:${gw.port('h2c')}`);
});
after(async () => {
  client?.close();
  await gw?.close();
  await up?.close();
  grpcUp?.close();
});

function request(headers: Record<string, string>, body?: Buffer): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const s = client.request(headers);
    let text = '';
    s.on('response', (h) => {
      s.on('data', (d) => (text += d));
      s.on('end', () => resolve({ status: Number(h[':status']), json: text ? JSON.parse(text) : undefined }));
    });
    s.on('error', reject);
    s.end(body);
  });
}

test('a method HTTP/1.1 would not take gets 501 and never reaches the upstream; it is counted', async () => {
  const seen = up.seen.length;
  const long = 'X'.repeat(5000);
  for (const method of [long, 'FROBNICATE']) {
    const res = await request({ ':method': method, ':path': '/a' });
    assert.equal(res.status, 501);
    assert.equal(res.json.code, 'GW_ERR_METHOD_NOT_SUPPORTED');
  }
  assert.equal((await request({ ':method': 'PROPFIND', ':path': '/a' })).status, 200, 'a method Node knows goes on');
  assert.equal(up.seen.length, seen + 1);
  const refused = await eventsWhere(gw, (e) => e.status === 501 && e.method !== 'CONNECT', 2);
  assert.deepEqual(refused.map((e) => e.method).sort(), ['FROBNICATE', long.slice(0, 32)]);
});

test('a CONNECT to a host gets 501 and is counted, as over HTTP/1.1', async () => {
  const res = await request({ ':method': 'CONNECT', ':authority': 'example.com:443' });
  assert.deepEqual([res.status, res.json.code], [501, 'GW_ERR_METHOD_NOT_SUPPORTED']);
  const [event] = await eventsWhere(gw, (e) => e.method === 'CONNECT');
  assert.equal(event?.errorClass, 'bad_request');
});

test('a grpc-status that is no code is counted as UNKNOWN', async () => {
  const statuses = ['99999999999999999999', '1e3', '14'];
  for (const status of statuses) {
    const headers = { ':method': 'POST', ':path': '/p.S/M', 'content-type': 'application/grpc', te: 'trailers' };
    await request({ ...headers, 'x-status': status }, Buffer.alloc(5));
  }
  const calls = await eventsWhere(gw, (e) => e.protocol === 'grpc', statuses.length);
  assert.deepEqual(
    calls.map((e) => e.grpcStatus),
    [2, 2, 14],
  );
});
