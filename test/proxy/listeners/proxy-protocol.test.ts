// PROXY protocol on HTTP listeners (listeners[].proxy_protocol.accept): behind a load balancer that sends it, the
// header's client is the client of every request on the connection, over HTTP/1.1, h2c and TLS (h2 and
// HTTP/1.1); IP lists and X-Forwarded-For see it; a peer outside trusted_proxies, a connection without a header
// and one whose header does not come in time are closed and counted. HAProxy (send-proxy-v2) in front too.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { type ClientHttp2Session, connect as h2connect } from 'node:http2';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { issue, makeCa } from '../../helpers/certs.ts';
import { eventsWhere } from '../../helpers/events.ts';
import { eventually, startGateway, type TestGateway } from '../../helpers/gateway.ts';
import { refusals } from '../../helpers/metrics.ts';
import { skipWithoutHaproxy, startHaproxy } from '../../helpers/haproxy.ts';
import { freePort } from '../../helpers/ports.ts';
import { headerV2 } from '../../../gateway/proxy/net/proxy-protocol.ts';
import { startUpstream, type TestUpstream } from '../../helpers/upstream.ts';

const dir = mkdtempSync(join(tmpdir(), 'tollgate-pp-'));
const ca = makeCa(dir);
const cert = issue(dir, ca, { cn: 'gw.test', dns: ['gw.test'] });

let upstream: TestUpstream;
let gw: TestGateway;

before(async () => {
  upstream = await startUpstream('api');
  gw = await startGateway({
    trusted_proxies: ['127.0.0.1'],
    listeners: [
      { name: 'plain', listen: '127.0.0.1:0', protocols: ['http/1.1', 'h2c'], proxy_protocol: { accept: true } },
      { name: 'h1only', listen: '127.0.0.1:0', proxy_protocol: { accept: true } },
      { name: 'tls', listen: '127.0.0.1:0', tls: { certificates: [cert] }, proxy_protocol: { accept: true } },
    ],
    services: [
      {
        name: 'api',
        routes: [{ paths: ['/'] }],
        acl: { deny: ['203.0.113.0/24'] },
        upstream: { targets: [{ url: upstream.url }] },
      },
    ],
  });
});
after(async () => {
  await gw?.close();
  await upstream?.close();
});

const v1 = (client: string) => `PROXY TCP4 ${client} 127.0.0.1 40000 443\r\n`;

/** A connection that has sent `header` (nothing when ''), open and ready for more. */
async function behind(port: number, header: string | Buffer): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  if (header.length > 0) socket.write(header);
  return socket;
}

/** What comes back on `socket` until it closes, after writing `data`. */
function exchange(socket: Socket, data: string): Promise<string> {
  let got = '';
  socket.setEncoding('latin1');
  socket.on('data', (d: string) => (got += d));
  socket.on('error', () => undefined);
  socket.write(data);
  return new Promise((resolve) => socket.once('close', () => resolve(got)));
}

const get = (path: string) => `GET ${path} HTTP/1.1\r\nhost: gw.test\r\nconnection: close\r\n\r\n`;
/** The upstream's echo of the request headers, out of a whole HTTP/1.1 response (chunked or not). */
const xffOf = (response: string) =>
  (JSON.parse(response.slice(response.indexOf('{'), response.lastIndexOf('}') + 1)) as Echo).headers;
type Echo = { headers: Record<string, string> };

test('HTTP/1.1: the header names the client, whom X-Forwarded-For, the IP list and the event see', async () => {
  for (const name of ['plain', 'h1only']) {
    const ok = await exchange(await behind(gw.port(name), v1('198.51.100.7')), get(`/one-${name}`));
    assert.match(ok, /^HTTP\/1\.1 200 /, name);
    assert.equal(xffOf(ok)['x-forwarded-for'], '198.51.100.7', name);
  }
  const events = await eventsWhere(gw, (x) => x.clientIp === '198.51.100.7', 2);
  assert.deepEqual(
    events.map((e) => e.status),
    [200, 200],
  );
  const denied = await exchange(await behind(gw.port('plain'), v1('203.0.113.9')), get('/denied'));
  assert.match(denied, /^HTTP\/1\.1 403 /, 'the deny list applies to the client the header named');
  // A v2 header, and a LOCAL one (the balancer's own health check): the peer is then the client.
  const peerPorts = { sourceIp: '2001:db8::5', sourcePort: 1, destIp: '2001:db8::1', destPort: 2 };
  const six = await exchange(await behind(gw.port('plain'), headerV2(peerPorts)), get('/v2'));
  assert.equal(xffOf(six)['x-forwarded-for'], '2001:db8::5');
  const local = Buffer.from('0d0a0d0a000d0a515549540a' + '20' + '00' + '0000', 'hex'); // v2, LOCAL, no address
  const health = await exchange(await behind(gw.port('plain'), local), get('/local'));
  assert.equal(xffOf(health)['x-forwarded-for'], '127.0.0.1');
});

test('h2c and TLS (HTTP/1.1 and h2 by ALPN) read the header first, then speak as usual', async () => {
  const h2 = h2connect('http://gw.test', {
    createConnection: () => connectAfter(gw.port('plain'), v1('198.51.100.8')),
  });
  const body = await h2Text(h2, '/h2c');
  h2.close();
  assert.equal((JSON.parse(body) as Echo).headers['x-forwarded-for'], '198.51.100.8');

  for (const alpn of ['http/1.1', 'h2']) {
    const raw = await behind(gw.port('tls'), v1('198.51.100.9'));
    const secure = tlsConnect({ socket: raw, servername: 'gw.test', ca: readFileSync(ca.cert), ALPNProtocols: [alpn] });
    await new Promise((resolve, reject) => secure.once('secureConnect', resolve).once('error', reject));
    assert.equal(secure.alpnProtocol, alpn);
    if (alpn === 'http/1.1') {
      const answer = await exchange(secure as unknown as Socket, get('/tls'));
      assert.equal(xffOf(answer)['x-forwarded-for'], '198.51.100.9');
    } else {
      const session = h2connect('https://gw.test', { createConnection: () => secure });
      const text = await h2Text(session, '/tls-h2');
      session.close();
      assert.equal((JSON.parse(text) as Echo).headers['x-forwarded-for'], '198.51.100.9');
    }
  }
  const events = await eventsWhere(gw, (e) => e.clientIp === '198.51.100.9', 2);
  assert.deepEqual(events.map((e) => e.protocol).sort(), ['h2', 'http/1.1']);
  // Plain HTTP after the header on the TLS listener: the 400 a TLS port answers it with, counted for that client.
  const plain = await exchange(await behind(gw.port('tls'), v1('198.51.100.10')), get('/plain-on-tls'));
  assert.match(plain, /^HTTP\/1\.1 400 [\s\S]*"GW_ERR_PLAIN_HTTP_ON_TLS"/);
  const [refused] = await eventsWhere(gw, (e) => e.clientIp === '198.51.100.10');
  assert.equal(refused?.status, 400);
});

/** The body of a GET of `path` on an HTTP/2 connection. */
function h2Text(session: ClientHttp2Session, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':path': path });
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (text += c));
    req.on('end', () => resolve(text));
    req.on('error', reject);
  });
}

/** A socket that has sent `header`, handed to an HTTP/2 client as its connection. */
function connectAfter(port: number, header: string): Socket {
  const socket = connect(port, '127.0.0.1');
  socket.write(header);
  return socket;
}

test('no header, a malformed one, or none in time: closed, counted, nothing reaches a service', async () => {
  const before = upstream.seen.length;
  assert.equal(await exchange(await behind(gw.port('plain'), ''), get('/no-header')), '');
  assert.equal(await exchange(await behind(gw.port('tls'), 'PROXY TCP9 x y 1 2\r\n'), get('/bad')), '');
  assert.equal(upstream.seen.length, before);
  assert.equal(await refusals(gw, 'plain', 'bad_proxy_header'), 1);
  assert.equal(await refusals(gw, 'tls', 'bad_proxy_header'), 1);
});

test('a peer outside trusted_proxies is closed before it can say anything; a slow header times out', async () => {
  const elsewhere = await startGateway({
    trusted_proxies: ['10.0.0.0/8'],
    proxy: { header_timeout_ms: 300 },
    listeners: [{ name: 'lb', listen: '127.0.0.1:0', proxy_protocol: { accept: true } }],
    services: [{ name: 'api', routes: [{ paths: ['/'] }], upstream: { targets: [{ url: upstream.url }] } }],
  });
  const slow = await startGateway({
    trusted_proxies: ['127.0.0.1'],
    proxy: { header_timeout_ms: 300 },
    listeners: [{ name: 'lb', listen: '127.0.0.1:0', proxy_protocol: { accept: true } }],
    services: [{ name: 'api', routes: [{ paths: ['/'] }], upstream: { targets: [{ url: upstream.url }] } }],
  });
  try {
    assert.equal(await exchange(await behind(elsewhere.port('lb'), v1('1.2.3.4')), get('/')), '');
    assert.equal(await refusals(elsewhere, 'lb', 'untrusted_proxy'), 1);
    const started = performance.now();
    assert.equal(await exchange(await behind(slow.port('lb'), 'PROXY TCP4 1.2.3.4'), ''), '');
    assert.ok(performance.now() - started < 3000, 'closed at header_timeout_ms');
    assert.equal(await refusals(slow, 'lb', 'proxy_header_timeout'), 1);
  } finally {
    await elsewhere.close();
    await slow.close();
  }
});

test('proxy_protocol turned off by a reload replaces the listener: the peer is then the client', async () => {
  const config = (accept: boolean, paths: string[]) => ({
    trusted_proxies: ['127.0.0.1'],
    listeners: [{ name: 'lb', listen: '127.0.0.1:0', ...(accept ? { proxy_protocol: { accept } } : {}) }],
    services: [{ name: 'api', routes: [{ paths }], upstream: { targets: [{ url: upstream.url }] } }],
  });
  const lb = await startGateway(config(true, ['/before']));
  try {
    const port = lb.port('lb');
    lb.writeConfig(config(false, ['/before', '/after']));
    // Without a PROXY header the listener that reads them closes the connection.
    const direct = async () => exchange(await behind(port, ''), get('/after'));
    assert.ok(await eventually(async () => /^HTTP\/1\.1 200/.test(await direct()), 10000, 50), 'the reload applied');
    assert.equal(lb.port('lb'), port, 'the listener replacing it keeps the address, the port 0 chose too');
    assert.equal(xffOf(await direct())['x-forwarded-for'], '127.0.0.1', 'the peer is the client');
    const header = await exchange(await behind(port, v1('198.51.100.20')), get('/after'));
    assert.match(header, /^HTTP\/1\.1 400/, 'a PROXY header is no HTTP request');
  } finally {
    await lb.close();
  }
});

test('HAProxy in front (send-proxy-v2): the client HAProxy saw is the client', {
  skip: skipWithoutHaproxy,
  timeout: 30000,
}, async (t) => {
  const front = await freePort();
  startHaproxy(t, dir, [
    'listen in_front',
    `  bind 127.0.0.1:${front}`,
    `  server gw 127.0.0.1:${gw.port('plain')} send-proxy-v2`,
  ]);
  // From 127.0.0.2 (all of 127/8 is loopback), so the address that arrives tells who passed it on.
  const viaHaproxy = () =>
    new Promise<string>((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port: front, localAddress: '127.0.0.2' }, () => {
        exchange(s, get('/haproxy')).then(resolve, reject);
      });
      s.on('error', reject);
    });
  const answer = await eventually(async () => await viaHaproxy().catch(() => ''), 10000, 100);
  assert.equal(xffOf(answer)['x-forwarded-for'], '127.0.0.2');
});
