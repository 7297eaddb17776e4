/**
 * A body the gateway reads whole before anything goes upstream (the token endpoint's form, the JSON the guard
 * inspects) must arrive within proxy.request_timeout_ms on HTTP/2 too, as Node's HTTP/1.1 server requires of every
 * request. Over HTTP/2 a client trickling such a body used to keep its stream for as long as it liked.
 */
import assert from 'node:assert/strict';
import { connect, type ClientHttp2Session } from 'node:http2';
import { after, before, test } from 'node:test';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { metric } from '../helpers/metrics.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';

let gw: TestGateway;
let up: TestUpstream;
let session: ClientHttp2Session;

before(async () => {
  up = await startUpstream('up');
  gw = await startGateway({
    proxy: { request_timeout_ms: 800, header_timeout_ms: 500 },
    listeners: [{ name: 'internal', listen: '127.0.0.1:0', protocols: ['h2c', 'http/1.1'] }],
    services: [
      {
        name: 'guarded',
        routes: [{ paths: ['/guarded'] }],
        guard: { inspect: { json_body: true } },
        upstream: { targets: [{ url: up.url }] },
      },
    ],
  });
  session = connect(`http://127.0.0.1:${gw.port('internal')}`);
});

after(async () => {
  session?.close();
  await gw?.close();
  await up?.close();
});

/** POSTs `first` of a body of `length` bytes, then `rest` after `restAfterMs` (never, without it). */
function post(
  path: string,
  type: string,
  length: number,
  first: string,
  rest?: { text: string; afterMs: number },
): Promise<{ status: number; body: string; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const stream = session.request({
      ':method': 'POST',
      ':path': path,
      'content-type': type,
      'content-length': String(length),
    });
    stream.write(first);
    if (rest) setTimeout(() => stream.end(rest.text), rest.afterMs);
    let status = 0;
    let body = '';
    stream.on('response', (h) => (status = Number(h[':status'])));
    stream.on('data', (d: Buffer) => (body += d));
    stream.on('close', () => resolve({ status, body, ms: performance.now() - started }));
    stream.on('error', reject);
  });
}

test('a token request over HTTP/2 whose form never arrives gets 408 after request_timeout_ms', async () => {
  const before = await metric(gw, 'tollgate_token_requests_total', 'result="GW_ERR_REQUEST_TIMEOUT"');
  const r = await post('/oauth/token', 'application/x-www-form-urlencoded', 100, 'grant_type=client_');
  assert.equal(r.status, 408);
  assert.equal(JSON.parse(r.body).code, 'GW_ERR_REQUEST_TIMEOUT');
  assert.ok(r.ms >= 700 && r.ms < 5000, `answered after ${r.ms} ms`);
  assert.equal(await metric(gw, 'tollgate_token_requests_total', 'result="GW_ERR_REQUEST_TIMEOUT"'), before + 1);
});

test('a JSON body the guard waits for over HTTP/2 gets 408 after request_timeout_ms, never sent upstream', async () => {
  const seen = up.seen.length;
  const r = await post('/guarded', 'application/json', 100, '{"name": "tr');
  assert.equal(r.status, 408);
  assert.equal(JSON.parse(r.body).code, 'GW_ERR_REQUEST_TIMEOUT');
  assert.ok(r.ms >= 700 && r.ms < 5000, `answered after ${r.ms} ms`);
  assert.equal(up.seen.length, seen);
});

test('bodies that arrive in time are served, however long the answer takes after', async () => {
  const json = '{"name": "ok"}';
  const guarded = await post('/guarded', 'application/json', json.length, json.slice(0, 5), {
    text: json.slice(5),
    afterMs: 300,
  });
  assert.equal(guarded.status, 200);
  assert.equal(JSON.parse(guarded.body).method, 'POST');
  // Unknown credentials: 401, after the form came whole in time.
  const form = 'grant_type=client_credentials&client_id=nobody&client_secret=x';
  const token = await post('/oauth/token', 'application/x-www-form-urlencoded', form.length, form.slice(0, 10), {
    text: form.slice(10),
    afterMs: 300,
  });
  assert.equal(token.status, 401);
  // The deadline was cancelled: the session has no late 408 or reset for them (another request goes through).
  await new Promise((r) => setTimeout(r, 800));
  assert.equal((await post('/guarded', 'application/json', 2, '{}', { text: '', afterMs: 0 })).status, 200);
});
