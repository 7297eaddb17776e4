import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { issue, makeCa } from '../../helpers/certs.ts';
import { eventually, service, startGateway, type TestGateway } from '../../helpers/gateway.ts';
import { metric, refusals } from '../../helpers/metrics.ts';
import { eventsWhere } from '../../helpers/events.ts';
import { CLOSE_GRACE_MS } from '../../../gateway/proxy/net/close-grace.ts';
import { h2Request, handshake, httpsGet } from '../../helpers/tls-client.ts';
import { send } from '../../helpers/http-client.ts';
import { startUpstream, type TestUpstream } from '../../helpers/upstream.ts';

const dir = mkdtempSync(join(tmpdir(), 'tollgate-tls-'));
const ca = makeCa(dir);
const main = issue(dir, ca, { cn: 'default.test', dns: ['default.test'] });
const wildcard = issue(dir, ca, { cn: 'wildcard.example.test', dns: ['*.example.test'] });
const client = { ca: ca.cert };
let upstream: TestUpstream;
let gw: TestGateway;

before(async () => {
  upstream = await startUpstream('up');
  gw = await startGateway({
    listeners: [
      { name: 'public', listen: '127.0.0.1:0', tls: { certificates: [main, wildcard] }, hsts: { max_age_s: 600 } },
      {
        name: 'strict',
        listen: '127.0.0.1:0',
        protocols: ['http/1.1'],
        tls: { certificates: [main, wildcard], unknown_server_name: 'reject', min_version: 'TLSv1.3' },
      },
      { name: 'plain', listen: '127.0.0.1:0', redirect_https: { port: 8443 } },
    ],
    services: [service('api', [upstream.url], [{ paths: ['/api'] }])],
  });
});
after(async () => {
  await gw?.close();
  await upstream?.close();
});

test('a client that names no server gets the default certificate, and the upstream hears of https', async () => {
  assert.equal((await handshake(gw.port('public'), client)).cn, 'default.test');
  const answer = await httpsGet(gw.port('public'), '/api/x', client);
  assert.equal(answer.status, 200);
  assert.equal(JSON.parse(answer.text).headers['x-forwarded-proto'], 'https');
});

test('SNI chooses the certificate: an exact name, a wildcard for one label, else the default', async () => {
  const cn = async (servername: string) => (await handshake(gw.port('public'), { ...client, servername })).cn;
  assert.equal(await cn('default.test'), 'default.test');
  assert.equal(await cn('api.example.test'), 'wildcard.example.test');
  assert.equal(await cn('API.Example.Test'), 'wildcard.example.test');
  assert.equal(await cn('a.b.example.test'), 'default.test', 'a wildcard covers one label only');
  assert.equal(await cn('example.test'), 'default.test');
  assert.equal(await cn('elsewhere.test'), 'default.test');
});

test('unknown_server_name: reject fails the handshake and counts it', async () => {
  const port = gw.port('strict');
  assert.equal((await handshake(port, { ...client, servername: 'x.example.test' })).cn, 'wildcard.example.test');
  await assert.rejects(handshake(port, { ...client, servername: 'elsewhere.test' }));
  await eventually(async () => (await refusals(gw, 'strict', 'unknown_server_name')) === 1);
  assert.equal(await refusals(gw, 'strict', 'unknown_server_name'), 1);
});

test('min_version TLSv1.3 refuses a TLS 1.2 client, counted as tls_version; the default admits TLS 1.2', async () => {
  await assert.rejects(handshake(gw.port('strict'), { ...client, maxVersion: 'TLSv1.2' }));
  assert.equal((await handshake(gw.port('public'), { ...client, maxVersion: 'TLSv1.2' })).version, 'TLSv1.2');
  await eventually(async () => (await refusals(gw, 'strict', 'tls_version')) === 1);
  assert.equal(await refusals(gw, 'strict', 'tls_version'), 1);
});

test('ALPN picks h2 or http/1.1 on one port, and both go through the routes', async () => {
  const port = gw.port('public');
  assert.equal((await handshake(port, { ...client, alpn: ['h2', 'http/1.1'] })).alpn, 'h2');
  assert.equal((await handshake(port, { ...client, alpn: ['http/1.1'] })).alpn, 'http/1.1');
  assert.equal((await handshake(gw.port('strict'), { ...client, alpn: ['h2', 'http/1.1'] })).alpn, 'http/1.1');
  const h2 = await h2Request(port, '/api/h2?q=1', client, { 'x-seen': 'yes' });
  assert.equal(h2.status, 200);
  const seen = JSON.parse(h2.text);
  assert.equal(seen.url, '/api/h2?q=1');
  assert.equal(seen.headers['x-seen'], 'yes');
  assert.match(seen.headers.host, /^127\.0\.0\.1:\d+$/, 'Host comes from :authority');
  assert.ok(!Object.keys(seen.headers).some((h) => h.startsWith(':')), 'no pseudo-header reaches the upstream');
  assert.equal((await h2Request(port, '/nowhere', client)).status, 404);
  assert.ok(
    (await metric(gw, 'tollgate_tls_handshakes_total', 'listener="public",version="TLSv1.3",protocol="h2"')) >= 2,
  );
});

test('access events name the protocol and TLS version the client used', async () => {
  const port = gw.port('public');
  await h2Request(port, '/api/events-h2', client);
  await httpsGet(port, '/api/events-h1', { ...client, maxVersion: 'TLSv1.2' });
  const [h2] = await eventsWhere(gw, (e) => e.route !== '' && e.protocol === 'h2');
  assert.deepEqual([h2?.protocol, h2?.tlsVersion, h2?.grpcStatus, h2?.grpcMethod], ['h2', 'TLSv1.3', -1, '']);
  const [h1] = await eventsWhere(gw, (e) => e.route !== '' && e.tlsVersion === 'TLSv1.2');
  assert.deepEqual([h1?.protocol, h1?.tlsVersion], ['http/1.1', 'TLSv1.2']);
});

test('every answer on a TLS listener with hsts carries Strict-Transport-Security, proxied or not', async () => {
  const port = gw.port('public');
  assert.equal((await httpsGet(port, '/api/x', client)).headers['strict-transport-security'], 'max-age=600');
  assert.equal((await httpsGet(port, '/nowhere', client)).headers['strict-transport-security'], 'max-age=600');
  assert.equal((await h2Request(port, '/nowhere', client)).headers['strict-transport-security'], 'max-age=600');
  assert.equal((await httpsGet(gw.port('strict'), '/api/x', client)).headers['strict-transport-security'], undefined);
});

test('redirect_https answers every request on a plain listener with 308 to the same URL over https', async () => {
  const res = await fetch(`http://127.0.0.1:${gw.port('plain')}/api/x?a=1&b=%2F`, { redirect: 'manual' });
  assert.equal(res.status, 308);
  assert.equal(res.headers.get('location'), 'https://127.0.0.1:8443/api/x?a=1&b=%2F');
  assert.equal(upstream.seen.filter((s) => s.url.startsWith('/api/x?a=1')).length, 0, 'nothing was proxied');
});

/** What a raw connection to `port` gets back until it closes, after `write` has sent what it sends. */
const closedAfter = (port: number, write: (s: ReturnType<typeof netConnect>) => void) =>
  new Promise<string>((resolve) => {
    const s = netConnect(port, '127.0.0.1', () => write(s));
    let got = '';
    s.on('data', (d) => (got += d.toString('latin1')));
    s.on('close', () => resolve(got));
    s.on('error', () => undefined);
  });

test('plaintext HTTP sent to a TLS port gets a 400 it can read; TLS sent to a plaintext one is closed', async () => {
  const answer = await closedAfter(gw.port('public'), (s) => s.write('GET /api/x HTTP/1.1\r\nHost: a\r\n\r\n'));
  assert.match(answer, /^HTTP\/1\.1 400 Bad Request\r\n/);
  assert.match(answer, /\r\nconnection: close\r\n/);
  assert.equal(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)).code, 'GW_ERR_PLAIN_HTTP_ON_TLS');
  // A client still sending a body larger than the sockets' buffers when the answer comes reads it too, and what it
  // sends is taken, so it can finish and close at once: left unread, the connection was cut after the close grace, and
  // the client's writes failed (EPIPE).
  const postedAt = Date.now();
  const posting = await closedAfter(gw.port('public'), (s) => {
    s.write('POST /api/x HTTP/1.1\r\nHost: a\r\nContent-Length: 33554432\r\n\r\n');
    const chunk = Buffer.alloc(512 * 1024, 'a');
    let sent = 0;
    const more = () => {
      while (sent < 64 && s.writable) {
        sent++;
        if (!s.write(chunk)) return void s.once('drain', more);
      }
      s.end();
    };
    more();
  });
  assert.match(posting, /^HTTP\/1\.1 400 /);
  assert.ok(Date.now() - postedAt < CLOSE_GRACE_MS / 2, `closed in ${Date.now() - postedAt} ms, not cut`);
  await new Promise<void>((resolve) => {
    const s = tlsConnect({ port: gw.port('proxy'), host: '127.0.0.1', rejectUnauthorized: false });
    s.on('error', () => resolve());
    s.on('close', () => resolve());
  });
  await eventually(async () => (await refusals(gw, 'proxy', 'tls_on_plaintext')) === 1);
  assert.equal(await refusals(gw, 'public', 'plaintext_on_tls'), 2);
  assert.equal(await refusals(gw, 'proxy', 'tls_on_plaintext'), 1);
  assert.equal(await metric(gw, 'tollgate_gateway_errors_total', 'code="GW_ERR_PLAIN_HTTP_ON_TLS"'), 2);
  assert.equal(await metric(gw, 'tollgate_gateway_errors_total', 'code="GW_ERR_BAD_REQUEST"'), 0, 'no other 400');
  const counted = await eventsWhere(gw, (e) => e.status === 400 && e.errorClass === 'bad_request' && e.route === '');
  assert.equal(counted.length, 2, 'each is an access event, as a request the parser refused is');
  // TLS on the same port is served as before.
  assert.equal((await httpsGet(gw.port('public'), '/api/after', client)).status, 200);
});

test('a connection closed before a byte is no refusal (a TCP health check); one closed mid-hello is', async () => {
  const sending = (bytes: string) => closedAfter(gw.port('strict'), (s) => s.end(bytes, 'latin1'));
  const failed = () => refusals(gw, 'strict', 'tls_handshake');
  const before = await failed();
  for (let i = 0; i < 3; i++) await sending('');
  await sending('\x16\x03\x01\x02\x00\x01\x00\x01');
  await eventually(async () => (await failed()) === before + 1);
  assert.equal(await failed(), before + 1, 'only the one that began a hello');
});

test('the expiry of every certificate a listener serves is a gauge', async () => {
  const text = await (await fetch(`${gw.adminUrl}/metrics`)).text();
  const lines = text.split('\n').filter((l) => l.startsWith('tollgate_tls_certificate_expiry_timestamp_seconds{'));
  assert.equal(lines.length, 4, lines.join('\n'));
  const seconds = Number(lines[0].split(' ').at(-1));
  assert.ok(seconds > Date.now() / 1000 + 29 * 86400 && seconds < Date.now() / 1000 + 31 * 86400, String(seconds));
  assert.ok(lines.some((l) => l.includes('listener="public"') && l.includes('subject="CN=wildcard.example.test"')));
});

test('redirect_https of an absolute-form target goes to its host, not to Host (RFC 9112 3.2.2)', async () => {
  const port = gw.port('plain');
  const status = (target: string, host: string) =>
    send(`http://127.0.0.1:${port}`, target, { headers: { host } }).then((r) => [r.status, r.headers.location]);
  assert.deepEqual(await status('http://good.test/p?q=1', 'evil.test'), [308, 'https://good.test:8443/p?q=1']);
  assert.deepEqual(await status('http://good.test:80', 'evil.test'), [308, 'https://good.test:8443/']);
  assert.deepEqual(await status('/p', 'good.test'), [308, 'https://good.test:8443/p']);
  assert.equal((await status('http://user@good.test/p', 'good.test'))[0], 400);
});
