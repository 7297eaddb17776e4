import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { keepAliveAgent, send } from '../helpers/http-client.ts';
import { rawRequest } from '../helpers/raw-http.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';

// Requests a conforming client never sends. Each must be refused by the
// gateway itself, as JSON, without a byte of it reaching the upstream:
// a proxy that forwards ambiguous framing is a request-smuggling vector.

let gw: TestGateway;
let up: TestUpstream;

before(async () => {
  up = await startUpstream('echo');
  gw = await startGateway({
    services: [{ name: 'echo', routes: [{ paths: ['/'] }], upstream: { targets: [{ url: up.url }] } }],
  });
});

after(async () => {
  await gw?.close();
  await up?.close();
});

/** Sends raw bytes; asserts a gateway-written JSON error with one of `statuses`, and that the upstream saw nothing. */
async function refused(
  bytes: string,
  statuses: number[],
  opts: { forwardedHeadOk?: boolean; timeoutMs?: number } = {},
) {
  const before = up.seen.length;
  // A refusal that keeps the connection open is read for 300 ms after its whole response: a request smuggled behind
  // it would be forwarded by then (the upstream is on loopback), and the gateway is asked for another one below.
  const res = await rawRequest(gw.proxy.port, bytes, opts.timeoutMs, 300);
  assert.ok(statuses.includes(res.status), `expected ${statuses}, got:\n${res.text}`);
  const head = res.text.slice(0, res.text.indexOf('\r\n\r\n'));
  assert.match(head, /\r\ncontent-type: application\/json/i, `not JSON:\n${res.text}`);
  const body = JSON.parse(res.text.slice(head.length + 4));
  assert.match(body.code, /^GW_ERR_/);
  assert.equal(typeof body.request_id, 'string');
  if (!opts.forwardedHeadOk) assert.equal(up.seen.length, before, `reached the upstream:\n${bytes}`);
  // The gateway still serves a well-formed request afterwards.
  assert.equal((await send(gw.url, '/after')).status, 200);
  return body.code as string;
}

test('Content-Length together with Transfer-Encoding gets 400 and is not forwarded', async () => {
  await refused(
    'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    [400],
  );
});

test('two different Content-Lengths get 400', async () => {
  await refused('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!', [400]);
});

test('a Content-Length that is not a number gets 400', async () => {
  await refused('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5x\r\n\r\nhello', [400]);
});

test('Transfer-Encoding gzip, chunked gets 400 or 501 and is not forwarded', async () => {
  await refused('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n', [400, 501]);
});

test('Transfer-Encoding xchunked gets 400 or 501 and is not forwarded', async () => {
  await refused('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n', [400, 501]);
});

test('Transfer-Encoding on HTTP/1.0 gets 400 and is not forwarded', async () => {
  await refused('POST / HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', [400]);
});

test('a bad chunk size gets 400', async () => {
  // The head is valid, so the request may already be on its way upstream when the body turns bad.
  await refused('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n', [400], {
    forwardedHeadOk: true,
  });
});

test('a bad method gets 400', async () => {
  await refused('G@T / HTTP/1.1\r\nHost: a\r\n\r\n', [400]);
});

test('a bad request target gets 400', async () => {
  await refused('GET /a b HTTP/1.1\r\nHost: a\r\n\r\n', [400]);
  await refused('GET /\x01x HTTP/1.1\r\nHost: a\r\n\r\n', [400]);
  await refused('GET nothing-like-a-path HTTP/1.1\r\nHost: a\r\n\r\n', [400]);
});

test('a bad HTTP version gets 400', async () => {
  await refused('GET / HTTP/9.9\r\nHost: a\r\n\r\n', [400, 505]);
});

test('an HTTP/2.0 request line gets 505 and is not forwarded, with Host or without', async () => {
  // Node's parser takes it (and wants no Host for it); nginx answers 505.
  assert.equal(await refused('GET / HTTP/2.0\r\nHost: a\r\n\r\n', [505]), 'GW_ERR_HTTP_VERSION_NOT_SUPPORTED');
  assert.equal(await refused('GET / HTTP/2.0\r\n\r\n', [505]), 'GW_ERR_HTTP_VERSION_NOT_SUPPORTED');
});

test('an HTTP/0.9 request line with headers gets 400 and is not forwarded', async () => {
  // HTTP/0.9 had neither a version token nor headers; Node's parser takes this, nginx answers 400.
  assert.equal(await refused('GET / HTTP/0.9\r\nHost: a\r\n\r\n', [400]), 'GW_ERR_BAD_REQUEST');
});

test('CONNECT gets a JSON 501 and the connection closes; nothing is tunnelled', async () => {
  const res = await rawRequest(
    gw.proxy.port,
    'CONNECT a.test:443 HTTP/1.1\r\nHost: a.test:443\r\nX-Request-Id: connect-1\r\n\r\n',
  );
  assert.ok(res.closed, 'the connection stayed open');
  assert.equal(res.status, 501, res.text);
  assert.match(res.text, /\r\nx-request-id: connect-1\r\n/i);
  assert.equal(JSON.parse(res.text.slice(res.text.indexOf('\r\n\r\n') + 4)).code, 'GW_ERR_METHOD_NOT_SUPPORTED');
  assert.equal(
    await refused('CONNECT 127.0.0.1:1 HTTP/1.1\r\nHost: 127.0.0.1:1\r\n\r\n', [501]),
    'GW_ERR_METHOD_NOT_SUPPORTED',
  );
});

test(
  'a WebSocket handshake without Connection: Upgrade gets a JSON 403 and is not ' +
    'forwarded as a plain GET; an h2c upgrade is served over HTTP/1.1',
  async () => {
    const handshake = (upgrade: string) =>
      `GET /chat HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\nUpgrade: ${upgrade}\r\n` +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';
    for (const upgrade of ['websocket', 'WebSocket', 'h2c, websocket', 'websocket/13']) {
      assert.equal(
        await refused(handshake(upgrade), [403], { timeoutMs: 500 }),
        'GW_ERR_UPGRADE_NOT_SUPPORTED',
        upgrade,
      );
    }
    // Not a WebSocket upgrade: served, without the hop-by-hop Upgrade.
    const before = up.seen.length;
    const res = await rawRequest(
      gw.proxy.port,
      'GET /h2c HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, ' +
        'HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n',
      500,
    );
    assert.equal(res.status, 200, res.text);
    assert.equal(up.seen.length, before + 1);
    assert.equal(up.seen.at(-1)!.headers.upgrade, undefined);
    for (const upgrade of ['websockets', 'xwebsocket']) {
      assert.equal(
        (await rawRequest(gw.proxy.port, `GET /x HTTP/1.1\r\nHost: a\r\nUpgrade: ${upgrade}\r\n\r\n`, 500)).status,
        200,
        upgrade,
      );
    }
  },
);

test('a fragment in the request target gets 400 and is not forwarded', async () => {
  // Matched as part of the path, `/admin#` would miss a `=/admin` route (and its access rules) and
  // reach another route, while the upstream drops the fragment (HAProxy CVE-2023-45539).
  for (const target of ['/admin#', '/admin#x', '/api/v1#x', '/index.html#.png']) {
    assert.equal(await refused(`GET ${target} HTTP/1.1\r\nHost: a\r\n\r\n`, [400]), 'GW_ERR_BAD_REQUEST', target);
  }
});

test('a Host value that is not a host[:port] gets 400 and is not forwarded', async () => {
  for (const host of ['evil.com/.example.com', 'a?b', 'a#b', 'a b', '<script>', 'a\\b', 'a@b', '[::1', 'a:80x']) {
    assert.equal(await refused(`GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`, [400]), 'GW_ERR_BAD_REQUEST', host);
  }
  // absolute-form: its authority replaces Host, so it is held to the same rule.
  assert.equal(await refused('GET http://a<b/x HTTP/1.1\r\nHost: a\r\n\r\n', [400]), 'GW_ERR_BAD_REQUEST');
  for (const host of [
    'a',
    'a.test:8080',
    '127.0.0.1:1',
    '[::1]:8080',
    'xn--bcher-kva.example',
    'a_b.internal',
    'a.test.',
    '',
  ]) {
    const res = await rawRequest(gw.proxy.port, `GET /ok HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    assert.equal(res.status, 200, `${host}: ${res.text}`);
  }
});

test('the Host checks come before the gateway-owned endpoints too', async () => {
  for (const bytes of [
    'GET /.well-known/jwks.json HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n',
    'GET /.well-known/jwks.json HTTP/1.1\r\n\r\n',
    'GET /.well-known/jwks.json HTTP/1.1\r\nHost: a/b\r\n\r\n',
  ]) {
    const res = await rawRequest(gw.proxy.port, bytes);
    assert.equal(res.status, 400, res.text);
  }
});

test('an HTTP/1.1 request without Host gets 400 JSON', async () => {
  await refused('GET / HTTP/1.1\r\nX-A: b\r\n\r\n', [400]);
});

test('two Host headers get 400 (RFC 9112 3.2), so routing and upstream cannot disagree on the host', async () => {
  await refused('GET / HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\nConnection: close\r\n\r\n', [400]);
});

test('an obs-fold header gets 400', async () => {
  await refused('GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n', [400]);
});

test('a NUL in a header value gets 400', async () => {
  await refused('GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x00c\r\n\r\n', [400]);
});

test('whitespace between a header name and its colon gets 400', async () => {
  await refused('GET / HTTP/1.1\r\nHost : a\r\n\r\n', [400]);
});

test('a HEAD response has no body and the keep-alive connection stays usable', async () => {
  const agent = keepAliveAgent();
  const head = await send(gw.url, '/h', { method: 'HEAD', agent });
  assert.equal(head.status, 200);
  assert.equal(head.body.length, 0);
  const get = await send(gw.url, '/g', { agent });
  assert.equal(get.status, 200);
  assert.equal(get.json().url, '/g');
  agent.destroy();
});

test('pipelined requests are answered in order', async () => {
  const res = await rawRequest(
    gw.proxy.port,
    'GET /one HTTP/1.1\r\nHost: a\r\n\r\nGET /two HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n',
  );
  const statuses = [...res.text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => m[1]);
  assert.deepEqual(statuses, ['200', '200'], res.text);
  assert.ok(res.text.indexOf('"url":"/one"') < res.text.indexOf('"url":"/two"'), res.text);
});

// A gateway answer waits for its access event to reach the log (group commit); a parser
// error in the bytes after it cuts the connection, but only once that answer is out.
test('an answer followed by bytes the parser refuses is sent before the connection is cut', async () => {
  const res = await rawRequest(gw.proxy.port, 'GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n\x01\x02 not http\r\n\r\n');
  assert.equal(res.status, 400, res.text);
  assert.match(res.text, /GW_ERR_BAD_REQUEST/);
});
