// TLS on streams: terminated (TLS in, plain TCP out), passed through by the ClientHello's server name, and
// originated towards a TLS target.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { type AddressInfo, createServer as createTcpServer, connect as tcpDial, type Server } from 'node:net';
import { reload } from '../helpers/admin.ts';
import { issue, makeCa } from '../helpers/certs.ts';
import { eventually, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { eventsWhere } from '../helpers/events.ts';
import { metric } from '../helpers/metrics.ts';
import { roundTrip, tcpConnect, tcpServer, type TcpServer } from '../helpers/tcp.ts';
import { tlsRoundTrip } from '../helpers/tls-client.ts';

const dir = mkdtempSync(join(tmpdir(), 'tollgate-streams-tls-'));
const ca = makeCa(dir);
const front = issue(dir, ca, { cn: 'db.test', dns: ['db.test'] });
const siteA = issue(dir, ca, { cn: 'a.test', dns: ['a.test'] });
const siteB = issue(dir, ca, { cn: 'b.test', dns: ['*.b.test'] });
const local = issue(dir, ca, { cn: 'localhost', dns: ['localhost'] });
const clientCa = makeCa(join(dir, 'clients'), 'client-ca');
const member = issue(join(dir, 'clients'), clientCa, { cn: 'member', client: true });

let plain: TcpServer;
let silent: TcpServer;
let tlsA: TlsServer;
let tlsB: TlsServer;
let tlsLocal: TlsServer;
let gw: TestGateway;

/** A TLS echo server answering `tag:` and what it got. */
async function tlsEcho(site: { cert: string; key: string }, tag: string): Promise<TlsServer> {
  const server = createTlsServer({ cert: readFileSync(site.cert), key: readFileSync(site.key) }, (socket) => {
    socket.on('data', (d) => socket.write(`${tag}:${d}`));
    socket.on('end', () => socket.end());
    socket.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return server;
}

const portOf = (s: TlsServer) => (s.address() as AddressInfo).port;

before(async () => {
  plain = await tcpServer('plain:');
  silent = await tcpServer('', () => undefined); // accepts, never answers
  tlsA = await tlsEcho(siteA, 'A');
  tlsB = await tlsEcho(siteB, 'B');
  tlsLocal = await tlsEcho(local, 'L');
  const target = (port: number, host = '127.0.0.1') => [{ url: `tcp://${host}:${port}` }];
  gw = await startGateway({
    streams: [
      {
        name: 'terminated',
        listen: '127.0.0.1:0',
        tls: { certificates: [front], handshake_timeout_ms: 500 },
        upstream: { targets: target(plain.port) },
      },
      {
        name: 'members',
        listen: '127.0.0.1:0',
        tls: { certificates: [front], client_certificates: { ca: clientCa.cert, required: true } },
        upstream: { targets: target(plain.port) },
      },
      {
        name: 'single',
        listen: '127.0.0.1:0',
        tls: { certificates: [front] },
        limits: { max_connections: 1 },
        upstream: { targets: target(plain.port) },
      },
      {
        name: 'passthrough',
        listen: '127.0.0.1:0',
        sni: [
          { name: 'to-a', server_names: ['a.test'], upstream: { targets: target(portOf(tlsA)) } },
          { name: 'to-b', server_names: ['*.b.test'], upstream: { targets: target(portOf(tlsB)) } },
        ],
        timeouts: { handshake_ms: 300 },
      },
      {
        name: 'originated',
        listen: '127.0.0.1:0',
        upstream: { targets: target(portOf(tlsLocal), 'localhost'), tls: { ca_file: ca.cert } },
      },
      {
        name: 'stalled',
        listen: '127.0.0.1:0',
        timeouts: { connect_ms: 200 },
        upstream: { targets: target(silent.port), tls: { ca_file: ca.cert, server_name: 'localhost' } },
      },
    ],
  });
});

after(async () => {
  await gw?.close();
  for (const s of [tlsA, tlsB, tlsLocal]) s?.close();
  await plain?.close();
  await silent?.close();
});

test('a stream with tls terminates it: the client is shown its certificate, the target gets plain TCP', async () => {
  const r = await tlsRoundTrip(gw.port('terminated'), { ca: ca.cert, servername: 'db.test' }, 'select 1');
  assert.deepEqual(r, { subject: 'db.test', answer: 'plain:select 1' });
  const [e] = await eventsWhere(gw, (x) => x.service === 'terminated' && x.status === 200);
  assert.equal(e?.tlsVersion, 'TLSv1.3');
  assert.equal(e?.bytesIn, 8, 'plaintext bytes');
  assert.equal(
    await metric(gw, 'tollgate_tls_handshakes_total', 'listener="terminated",version="TLSv1.3",protocol="tcp"'),
    1,
  );
  // Plain bytes on a TLS stream: the handshake fails, nothing reaches the target.
  const before = plain.accepted.length;
  const refused = await roundTrip(gw.port('terminated'), 'PING\r\n');
  assert.ok(refused.closed);
  assert.equal(plain.accepted.length, before);
  const [bad] = await eventsWhere(gw, (x) => x.service === 'terminated' && x.status === 400);
  assert.equal(bad?.errorClass, 'bad_request');
  assert.equal(await metric(gw, 'tollgate_stream_refused_total', 'stream="terminated",reason="tls_handshake"'), 1);
});

test('client_certificates on a terminating stream: a member gets through, a client without one does not', async () => {
  const through = await tlsRoundTrip(gw.port('members'), { ca: ca.cert, servername: 'db.test', ...member }, 'q');
  assert.equal(through.answer, 'plain:q');
  const before = plain.accepted.length;
  await assert.rejects(tlsRoundTrip(gw.port('members'), { ca: ca.cert, servername: 'db.test' }, 'q'));
  assert.equal(plain.accepted.length, before, 'nothing reached the target');
  assert.ok(
    await eventually(
      async () => (await metric(gw, 'tollgate_stream_refused_total', 'stream="members",reason="tls_handshake"')) === 1,
    ),
  );
});

test('a client gone mid-handshake gives its place back at once to the next one', async () => {
  for (let i = 0; i < 3; i++) {
    const quitter = await tcpConnect(gw.port('single'));
    quitter.write(Buffer.from([22, 3, 1, 0, 200, 1])); // the start of a ClientHello, then nothing
    await new Promise((r) => setTimeout(r, 50));
    quitter.destroy();
  }
  const started = Date.now();
  const through = await eventually(async () => {
    const r = await tlsRoundTrip(gw.port('single'), { ca: ca.cert, servername: 'db.test' }, 'next').catch(
      () => undefined,
    );
    return r?.answer === 'plain:next';
  });
  assert.ok(through);
  assert.ok(Date.now() - started < 2000, 'at once, not after the handshake timeout');
});

test('sni routes pass TLS through by the server name, untouched; an unknown name or no TLS is closed', async () => {
  assert.deepEqual(await tlsRoundTrip(gw.port('passthrough'), { ca: ca.cert, servername: 'a.test' }, 'x'), {
    subject: 'a.test',
    answer: 'A:x',
  });
  assert.deepEqual(await tlsRoundTrip(gw.port('passthrough'), { ca: ca.cert, servername: 'deep.B.test' }, 'y'), {
    subject: 'b.test',
    answer: 'B:y',
  });
  const [e] = await eventsWhere(gw, (x) => x.service === 'passthrough' && x.route === 'to-b');
  assert.equal(e?.status, 200);
  assert.equal(e?.tlsVersion, '', 'the gateway did not terminate this TLS');
  await assert.rejects(tlsRoundTrip(gw.port('passthrough'), { ca: ca.cert, servername: 'c.test' }, 'z'));
  assert.equal(await metric(gw, 'tollgate_stream_refused_total', 'stream="passthrough",reason="no_route"'), 1);
  assert.ok((await roundTrip(gw.port('passthrough'), 'GET / HTTP/1.1\r\n\r\n')).closed);
  assert.equal(await metric(gw, 'tollgate_stream_refused_total', 'stream="passthrough",reason="not_tls"'), 1);
});

/**
 * A relay to `port` that passes a client's first TLS record on cut up, as a client dodging inspection may send it:
 * the handshake header in 1-byte records, the rest in one, each byte in a write of its own; then pipes both ways.
 */
async function trickleRelay(port: number): Promise<Server> {
  const relay = createTcpServer((client) => {
    const upstream = tcpDial(port, '127.0.0.1');
    upstream.setNoDelay(true);
    let first = Buffer.alloc(0);
    const onFirst = async (chunk: Buffer) => {
      first = Buffer.concat([first, chunk]);
      if (first.length < 5 || first.length < 5 + first.readUInt16BE(3)) return;
      client.off('data', onFirst);
      client.pause();
      const body = first.subarray(5, 5 + first.readUInt16BE(3));
      const record = (p: Buffer) => [Buffer.from([22, 3, 1, p.length >> 8, p.length & 0xff]), p];
      const cut = Buffer.concat([0, 1, 2, 3].flatMap((i) => record(body.subarray(i, i === 3 ? undefined : i + 1))));
      for (const byte of cut) {
        upstream.write(Buffer.from([byte]));
        await new Promise((r) => setImmediate(r));
      }
      upstream.write(first.subarray(5 + body.length));
      client.pipe(upstream).pipe(client);
    };
    client.on('data', onFirst);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
  return relay;
}

test('a ClientHello in records split at its header, sent a byte at a time, is routed by its server name', async () => {
  const relay = await trickleRelay(gw.port('passthrough'));
  try {
    const port = (relay.address() as AddressInfo).port;
    assert.deepEqual(await tlsRoundTrip(port, { ca: ca.cert, servername: 'a.test' }, 'cut'), {
      subject: 'a.test',
      answer: 'A:cut',
    });
  } finally {
    relay.close();
  }
});

test(
  'upstream tls: plain TCP in, TLS to the target checked against ca_file; a target that never finishes the ' +
    'handshake is a connect timeout',
  async () => {
    assert.deepEqual((await roundTrip(gw.port('originated'), 'hi')).data.toString(), 'L:hi');
    const stalled = await roundTrip(gw.port('stalled'), 'hi');
    assert.ok(stalled.closed && stalled.data.length === 0);
    const [e] = await eventsWhere(gw, (x) => x.service === 'stalled');
    assert.equal(e?.status, 504);
    assert.equal(e?.errorClass, 'upstream_timeout');
    assert.equal(await metric(gw, 'tollgate_stream_refused_total', 'stream="stalled",reason="connect_timeout"'), 1);
  },
);

test("a terminating stream's certificate files are watched: renewed ones serve the next connections", async () => {
  const served = { cert: join(dir, 'served.pem'), key: join(dir, 'served.key') };
  copyFileSync(front.cert, served.cert);
  copyFileSync(front.key, served.key);
  const watched = await startGateway({
    proxy: { tls_files_check_ms: 100 },
    streams: [
      {
        name: 'db',
        listen: '127.0.0.1:0',
        tls: { certificates: [served] },
        upstream: { targets: [{ url: `tcp://127.0.0.1:${plain.port}` }] },
      },
    ],
  });
  try {
    assert.equal(
      (await tlsRoundTrip(watched.port('db'), { ca: ca.cert, servername: 'db.test' }, 'a')).subject,
      'db.test',
    );
    const renewed = issue(dir, ca, { cn: 'db-renewed.test', dns: ['db.test'] });
    copyFileSync(renewed.cert, served.cert);
    copyFileSync(renewed.key, served.key);
    const shown = async () =>
      (await tlsRoundTrip(watched.port('db'), { ca: ca.cert, servername: 'db.test' }, 'b')).subject;
    assert.equal(await eventually(async () => (await shown()) === 'db-renewed.test', 5000), true);
  } finally {
    await watched.close();
  }
});

test("a terminating stream's certificate is in the expiry gauge by the stream's name until it goes", async () => {
  const notAfter = Date.parse(new X509Certificate(readFileSync(front.cert)).validTo) / 1000;
  const series = (stream: string) =>
    metric(
      gw,
      'tollgate_tls_certificate_expiry_timestamp_seconds',
      `listener="${stream}",certificate="${front.cert}",subject="CN=db.test"`,
    );
  assert.equal(await series('terminated'), notAfter);
  assert.equal(await series('single'), notAfter);
  await reload(gw, (raw) => {
    raw.streams = raw.streams.filter((s: { name: string }) => s.name !== 'single');
  });
  assert.equal(await series('single'), 0, 'gone with its stream');
  assert.equal(await series('terminated'), notAfter);
});

test('a client that half-closes before its TLS handshake is closed at once, not at handshake_timeout_ms', async () => {
  const socket = await tcpConnect(gw.port('members')); // the default handshake timeout: 10 s
  const started = performance.now();
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => undefined);
  socket.resume();
  socket.end();
  await closed;
  const ms = performance.now() - started;
  assert.ok(ms < 2000, `closed after ${Math.round(ms)} ms`);
});
