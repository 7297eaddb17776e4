import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { keepAliveAgent, send, type SendResult } from '../helpers/http-client.ts';
import { startRawUpstream, type RawUpstream } from '../helpers/raw-upstream.ts';

// An upstream that breaks HTTP framing must never make the gateway hand the
// client something that looks like a complete, valid response.

const BROKEN: Record<string, string> = {
  '/short': 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc',
  '/garbage': 'SPDY/9 what is this\r\n\r\n',
  '/empty': '',
  '/two-lengths': 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nokk',
  '/bad-status': 'HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\nok',
  '/nul-header': 'HTTP/1.1 200 OK\r\nX-A: b\x00c\r\nContent-Length: 2\r\n\r\nok',
};

let gw: TestGateway;
let raw: RawUpstream;
let connections = 0;

before(async () => {
  raw = await startRawUpstream((socket: Socket, head: string) => {
    const path = head.split(' ')[1];
    const broken = BROKEN[path];
    if (path === '/length-and-chunked')
      return void socket.end(
        'HTTP/1.1 200 OK\r\nContent-Length: 50\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n',
      );
    if (path === '/bad-chunk')
      return void socket.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n');
    if (path === '/head-then-stall') {
      // The head now, the body after 1.5 s (as a server-sent events stream or a long poll would).
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n');
      setTimeout(() => socket.end('b\r\ndata: one\n\n\r\n0\r\n\r\n'), 1500);
      return;
    }
    if (path === '/length-then-stall') {
      // A slow download: the head with its length now, the body after 1.5 s.
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\n');
      setTimeout(() => socket.end('data: one\n\n'), 1500);
      return;
    }
    if (path === '/no-content') return void socket.write('HTTP/1.1 204 No Content\r\nX-Done: yes\r\n\r\n');
    if (path === '/no-content-length') return void socket.write('HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n');
    if (path === '/not-modified') return void socket.write('HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\n\r\n');
    if (broken === undefined) {
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok');
      return;
    }
    socket.end(broken);
  });
  raw.server.on('connection', () => connections++);
  gw = await startGateway({
    services: [
      {
        name: 'raw',
        routes: [{ paths: ['/'] }],
        upstream: { targets: [{ url: raw.url }], health: { passive: { max_failures: 0 } } },
      },
    ],
  });
});

after(async () => {
  await gw?.close();
  await raw?.close();
});

async function settle(p: Promise<SendResult>): Promise<SendResult | Error> {
  return p.then(
    (r) => r,
    (err: Error) => err,
  );
}

/** The next request works, over a fresh upstream connection (the broken one is never reused). */
async function nextRequestWorks() {
  const before = connections;
  const res = await send(gw.url, '/fine');
  assert.equal(res.status, 200);
  assert.equal(res.text, 'ok');
  assert.equal(connections, before + 1, 'the broken upstream connection was reused');
}

test(
  'a body shorter than its Content-Length reaches the ' + 'client as a cut connection, never a complete response',
  async () => {
    const r = await settle(send(gw.url, '/short'));
    if (!(r instanceof Error)) {
      // A gateway may still answer 502 if it had not started the response.
      assert.notEqual(r.status, 200, `complete-looking 200 with body ${JSON.stringify(r.text)}`);
      assert.equal(r.json().code, 'GW_ERR_BAD_GATEWAY');
    }
    await nextRequestWorks();
  },
);

for (const path of ['/garbage', '/empty', '/two-lengths', '/bad-status', '/nul-header']) {
  test(`an upstream answering ${path.slice(1)} gets 502 GW_ERR_BAD_GATEWAY, and the next request works`, async () => {
    const res = await send(gw.url, path);
    assert.equal(res.status, 502, res.text);
    const body = res.json();
    assert.equal(body.code, 'GW_ERR_BAD_GATEWAY');
    // 5xx bodies say nothing internal.
    assert.ok(!res.text.includes('127.0.0.1') && !res.text.includes(String(raw.port)), res.text);
    await nextRequestWorks();
  });
}

test(
  'a chunked body broken in the same read as its head ' + 'gets 502 GW_ERR_BAD_GATEWAY, not a closed connection',
  async () => {
    // Before: the head was written (not yet flushed) when the body broke, so the client got no response at all.
    const res = await send(gw.url, '/bad-chunk');
    assert.equal(res.status, 502, res.text);
    assert.equal(res.json().code, 'GW_ERR_BAD_GATEWAY');
    await nextRequestWorks();
  },
);

for (const [path, what] of [
  ['/head-then-stall', 'without a length (an event stream)'],
  ['/length-then-stall', 'with a Content-Length (a slow download)'],
]) {
  test(
    `a response head ${what} reaches the client as ` + `soon as the upstream sends it, not with the first chunk`,
    async () => {
      const { request } = await import('node:http');
      const url = new URL(path, gw.url);
      const started = performance.now();
      const { headMs, body, status } = await new Promise<{ headMs: number; body: string; status: number }>(
        (resolve, reject) => {
          request(url, (res) => {
            const headMs = performance.now() - started;
            let body = '';
            res
              .setEncoding('utf8')
              .on('data', (c: string) => {
                body += c;
              })
              .on('end', () => resolve({ headMs, body, status: res.statusCode ?? 0 }))
              .on('error', reject);
          })
            .on('error', reject)
            .end();
        },
      );
      assert.equal(status, 200);
      assert.equal(body, 'data: one\n\n');
      assert.ok(headMs < 1000, `the head took ${headMs} ms (the upstream sent it at once and the body after 1.5 s)`);
    },
  );
}

test('a healthy keep-alive upstream connection is reused between requests', async () => {
  const agent = keepAliveAgent();
  await send(gw.url, '/fine', { agent });
  const before = connections;
  for (let i = 0; i < 5; i++) assert.equal((await send(gw.url, '/fine', { agent })).text, 'ok');
  assert.equal(connections, before);
  agent.destroy();
});

test('204 and 304 responses pass through without a body and the connections stay usable', async () => {
  const agent = keepAliveAgent();
  const noContent = await send(gw.url, '/no-content', { agent });
  assert.equal(noContent.status, 204);
  assert.equal(noContent.headers['x-done'], 'yes');
  assert.equal(noContent.body.length, 0);
  // A Content-Length on a 204 is not passed on (RFC 9110 8.6).
  const withLength = await send(gw.url, '/no-content-length', { agent });
  assert.equal(withLength.status, 204);
  assert.equal(withLength.headers['content-length'], undefined);
  const notModified = await send(gw.url, '/not-modified', { agent, headers: { 'if-none-match': '"v1"' } });
  assert.equal(notModified.status, 304);
  assert.equal(notModified.headers.etag, '"v1"');
  assert.equal((await send(gw.url, '/fine', { agent })).text, 'ok');
  agent.destroy();
});

test(
  'a response with both Content-Length and ' +
    'Transfer-Encoding is refused (502) or forwarded without the Content-Length',
  async () => {
    const r = await settle(send(gw.url, '/length-and-chunked'));
    assert.ok(!(r instanceof Error), `client saw ${r}`);
    if (r.status === 502) {
      assert.equal(r.json().code, 'GW_ERR_BAD_GATEWAY');
    } else {
      // RFC 9112 6.1: an intermediary that forwards it must drop Content-Length and use the chunked framing.
      assert.equal(r.status, 200);
      assert.equal(r.text, 'ok');
      assert.equal(r.headers['content-length'], undefined);
    }
    await nextRequestWorks();
  },
);
