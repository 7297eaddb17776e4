import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import {
  createSecureServer,
  createServer,
  type Http2SecureServer,
  type Http2Server,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type Http2Session,
  type Http2Stream,
} from 'node:http2';
import dc from 'node:diagnostics_channel';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { validateConfig } from '../../gateway/control/config/load.ts';
import { issue, makeCa } from '../helpers/certs.ts';
import { eventually, service, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { h2Request } from '../helpers/tls-client.ts';
import { sessionInternal } from '../../gateway/proxy/net/h2-session.ts';
import { StreamTable } from '../../gateway/proxy/net/h2-stream-table.ts';

const dir = mkdtempSync(join(tmpdir(), 'tollgate-upstream-h2-'));
const ca = makeCa(dir);
const cert = issue(dir, ca, { cn: 'localhost', dns: ['localhost'], ips: ['127.0.0.1'] });

/** What an HTTP/2 upstream saw: the version, path and headers of each request, and its sessions (connections). */
interface Seen {
  requests: { version: string; url: string; headers: Record<string, unknown> }[];
  sessions: number;
}

function echo(seen: Seen) {
  return (req: Http2ServerRequest, res: Http2ServerResponse) => {
    seen.requests.push({ version: req.httpVersion, url: req.url, headers: { ...req.headers } });
    if (req.url === '/healthz') return res.end('ok');
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      // A little later, so concurrent requests overlap on the connection.
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ version: req.httpVersion, url: req.url, body }));
      }, 20);
    });
  };
}

async function listen<T extends Http2Server | Http2SecureServer>(server: T, seen: Seen): Promise<number> {
  server.on('session', () => seen.sessions++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

const h2cSeen: Seen = { requests: [], sessions: 0 };
const h2Seen: Seen = { requests: [], sessions: 0 };
const h2c = createServer(echo(h2cSeen));
const h2 = createSecureServer({ cert: readFileSync(cert.cert), key: readFileSync(cert.key) }, echo(h2Seen));
const h1only = createHttpsServer({ cert: readFileSync(cert.cert), key: readFileSync(cert.key) }, (req, res) =>
  res.end(JSON.stringify({ version: req.httpVersion })),
);
let gw: TestGateway;
let h2cPort = 0;
const ADD_UA = { add: { 'User-Agent': 'added' } };

before(async () => {
  h2cPort = await listen(h2c, h2cSeen);
  const h2Port = await listen(h2, h2Seen);
  await new Promise<void>((r) => h1only.listen(0, '127.0.0.1', r));
  const tls = { ca_file: ca.cert };
  gw = await startGateway({
    listeners: [{ name: 'internal', listen: '127.0.0.1:0', protocols: ['h2c', 'http/1.1'] }],
    services: [
      service('grpcish', [`http://127.0.0.1:${h2cPort}`], [{ paths: ['/c'] }], {
        protocol: 'h2c',
        health: { active: { path: '/healthz', interval_ms: 200 } },
      }),
      service('secure', [`https://127.0.0.1:${h2Port}`], [{ paths: ['/s'] }], { protocol: 'h2', tls }),
      // A route that adds a field the client sends too, one node:http2 takes one value of: two lines upstream.
      service('added-c', [`http://127.0.0.1:${h2cPort}`], [{ paths: ['/added-c'], request_headers: ADD_UA }], {
        protocol: 'h2c',
      }),
      service('added-s', [`https://127.0.0.1:${h2Port}`], [{ paths: ['/added-s'], request_headers: ADD_UA }], {
        protocol: 'h2',
        tls,
      }),
      service('old', [`https://127.0.0.1:${(h1only.address() as AddressInfo).port}`], [{ paths: ['/o'] }], {
        protocol: 'h2',
        tls,
      }),
    ],
  });
});
after(async () => {
  await gw?.close();
  for (const s of [h2c, h2, h1only]) s.close();
});

test('an h2c upstream gets HTTP/2 whatever the client speaks, bodies included', async () => {
  const fromH1 = await fetch(`${gw.url}/c/one`, { method: 'POST', body: 'from http/1.1' });
  assert.equal(fromH1.status, 200);
  assert.deepEqual(await fromH1.json(), { version: '2.0', url: '/c/one', body: 'from http/1.1' });
  const fromH2 = await h2Request(gw.port('internal'), '/c/two', undefined, {}, 'from h2c');
  assert.deepEqual(JSON.parse(fromH2.text), { version: '2.0', url: '/c/two', body: 'from h2c' });
  // Active checks of the same upstream (every 200 ms) may have come in since: the call's own request, by its path.
  const last = h2cSeen.requests.findLast((r) => r.url === '/c/two')!;
  assert.ok(!('connection' in last.headers) && !('keep-alive' in last.headers), 'no connection-specific header');
  assert.equal(last.headers['x-forwarded-proto'], 'http');
});

test('concurrent requests to an h2c upstream share its connections as streams', async () => {
  const before = h2cSeen.sessions;
  const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => fetch(`${gw.url}/c/many/${i}`)));
  assert.deepEqual(
    answers.map((a) => a.status),
    answers.map(() => 200),
  );
  assert.ok(h2cSeen.sessions - before <= 1, `${h2cSeen.sessions - before} new connections for 40 requests`);
});

test('an h2 upstream over TLS gets HTTP/2; one that offers only HTTP/1.1 is still reached', async () => {
  const secure = await fetch(`${gw.url}/s/x`);
  assert.equal((await secure.json()).version, '2.0');
  const old = await fetch(`${gw.url}/o/x`);
  assert.equal(old.status, 200);
  assert.equal((await old.json()).version, '1.1');
});

test("a route's added field the client also sent reaches an h2c and an h2 upstream, not as a 502", async () => {
  for (const [path, seen] of [
    ['/added-c/x', h2cSeen],
    ['/added-s/x', h2Seen],
  ] as const) {
    const res = await fetch(`${gw.url}${path}`, { headers: { 'user-agent': 'client' } });
    assert.equal(res.status, 200, `${path}: ${await res.text()}`);
    // undici joins the two into one line for its h2 client; node:http2 keeps the first of two lines in req.headers.
    const expected = path === '/added-s/x' ? 'client, added' : 'client';
    assert.equal(seen.requests.findLast((r) => r.url === path)?.headers['user-agent'], expected);
  }
});

test('active checks reach an h2c-only target over HTTP/2', async () => {
  assert.ok(await eventually(() => h2cSeen.requests.some((r) => r.url === '/healthz' && r.version === '2.0'), 3000));
  const health = await (await fetch(`${gw.adminUrl}/upstreams/grpcish`)).json();
  assert.equal(health.health[0].healthy, true, JSON.stringify(health));
});

test('protocol h2 needs https targets and h2c http ones', () => {
  const r = validateConfig({
    services: [
      service('a', ['http://127.0.0.1:1'], [{ paths: ['/a'] }], { protocol: 'h2' }),
      service('b', ['https://127.0.0.1:1'], [{ paths: ['/b'] }], { protocol: 'h2c' }),
    ],
  });
  assert.ok(!r.ok);
  assert.deepEqual(
    r.errors.map((e) => e.path),
    ['/services/0/upstream/protocol', '/services/1/upstream/protocol'],
  );
});

test("the gateway's HTTP/2 sessions, a listener's and an h2c upstream's, keep streams in its own tables", async () => {
  // Node's Map of a session's streams kept closed ones alive through scavenges (net/h2-stream-table.ts).
  // The health checks (undici's own HTTP/2 client, every 200 ms) open streams to the h2c target too: the upstream
  // session is the one this request's stream went over.
  const sessions: { side: string; path: unknown; session: Http2Session }[] = [];
  const seen = (side: string) => (m: unknown) => {
    const { stream, headers } = m as { stream: Http2Stream; headers: Record<string, unknown> };
    sessions.push({ side, path: headers[':path'], session: stream.session! });
  };
  const channels = { 'http2.server.stream.created': seen('server'), 'http2.client.stream.created': seen('client') };
  for (const [name, fn] of Object.entries(channels)) dc.subscribe(name, fn);
  try {
    const res = await h2Request(gw.port('internal'), '/c/tables', undefined, {}, 'body');
    assert.equal(res.status, 200);
  } finally {
    for (const [name, fn] of Object.entries(channels)) dc.unsubscribe(name, fn);
  }
  const listener = sessions.find((s) => s.side === 'server' && s.session.socket.localPort === gw.port('internal'));
  const upstream = sessions.find(
    (s) => s.side === 'client' && s.path === '/c/tables' && s.session.socket.remotePort === h2cPort,
  );
  assert.ok(sessionInternal<{ streams: unknown }>(listener!.session, 'state')?.streams instanceof StreamTable);
  assert.ok(sessionInternal<{ streams: unknown }>(upstream!.session, 'state')?.streams instanceof StreamTable);
});
