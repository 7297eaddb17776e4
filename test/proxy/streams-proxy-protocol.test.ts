// The PROXY protocol on streams: sent to targets (v1, v2), accepted from a trusted balancer in front, and
// understood by HAProxy both ways.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { eventually, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { eventsWhere } from '../helpers/events.ts';
import { metric } from '../helpers/metrics.ts';
import { freePort } from '../helpers/ports.ts';
import { skipWithoutHaproxy, startHaproxy } from '../helpers/haproxy.ts';
import { received, roundTrip, tcpConnect, tcpServer, type TcpServer } from '../helpers/tcp.ts';

/** Answers each connection with its first line (the PROXY v1 header, when one came) once the client is done. */
let firstLine: TcpServer;
/** Answers each connection with the first 28 bytes it got, hex (a PROXY v2 header with IPv4 addresses). */
let firstBytes: TcpServer;
let echo: TcpServer;
let gw: TestGateway;

before(async () => {
  firstLine = await tcpServer('', (socket) => {
    let got = '';
    socket.on('data', (d) => (got += d.toString('latin1')));
    socket.on('end', () => socket.end(got.slice(0, got.indexOf('\r\n') + 2)));
  });
  firstBytes = await tcpServer('', (socket) => {
    let got = Buffer.alloc(0);
    socket.on('data', (d: Buffer) => (got = Buffer.concat([got, d])));
    socket.on('end', () => socket.end(got.subarray(0, 28).toString('hex')));
  });
  echo = await tcpServer('echo:');
  gw = await startGateway({
    trusted_proxies: ['127.0.0.1'],
    streams: [
      { name: 'v1', listen: '127.0.0.1:0', proxy_protocol: { send: 'v1' }, upstream: { targets: url(firstLine) } },
      { name: 'v2', listen: '127.0.0.1:0', proxy_protocol: { send: 'v2' }, upstream: { targets: url(firstBytes) } },
      {
        name: 'behind',
        listen: '127.0.0.1:0',
        proxy_protocol: { accept: true },
        acl: { deny: ['203.0.113.0/24'] },
        timeouts: { handshake_ms: 500 },
        upstream: { targets: url(echo) },
      },
      {
        name: 'by-net',
        listen: '127.0.0.1:0',
        proxy_protocol: { accept: true },
        limits: { max_connections_per_ip: 1, ipv6_prefix: 64 },
        upstream: { targets: url(echo) },
      },
    ],
  });
});

after(async () => {
  await gw?.close();
  await firstLine?.close();
  await firstBytes?.close();
  await echo?.close();
});

function url(server: TcpServer) {
  return [{ url: `tcp://127.0.0.1:${server.port}` }];
}

test('send v1 and v2: the target reads the client address and port, and the stream address, first of all', async () => {
  const client = await tcpConnect(gw.port('v1'));
  const port = client.localPort;
  const answer = received(client);
  client.end('payload');
  const line = (await answer).data.toString();
  assert.equal(line, `PROXY TCP4 127.0.0.1 127.0.0.1 ${port} ${gw.port('v1')}\r\n`);

  const c2 = await tcpConnect(gw.port('v2'));
  const ports = Buffer.alloc(4);
  ports.writeUInt16BE(c2.localPort!, 0);
  ports.writeUInt16BE(gw.port('v2'), 2);
  const a2 = received(c2);
  c2.end('payload');
  const hex = (await a2).data.toString();
  assert.equal(hex, `0d0a0d0a000d0a515549540a2111000c7f0000017f000001${ports.toString('hex')}`);
});

test('accept: the header of a trusted balancer names the client, whom the lists and the event then see', async () => {
  const r = await roundTrip(gw.port('behind'), 'PROXY TCP4 198.51.100.7 127.0.0.1 4000 5000\r\nhello');
  assert.equal(r.data.toString(), 'echo:hello');
  const [e] = await eventsWhere(gw, (x) => x.service === 'behind' && x.status === 200);
  assert.equal(e?.clientIp, '198.51.100.7');
  assert.equal(e?.bytesIn, 5, 'the header is not the client’s data');

  const denied = await roundTrip(gw.port('behind'), 'PROXY TCP4 203.0.113.9 127.0.0.1 4000 5000\r\nhello');
  assert.ok(denied.closed && denied.data.length === 0);
  assert.equal(await metric(gw, 'tollgate_stream_refused_total', 'stream="behind",reason="ip_denied"'), 1);

  assert.ok((await roundTrip(gw.port('behind'), 'hello, no header\r\n')).closed);
  assert.equal(await metric(gw, 'tollgate_stream_refused_total', 'stream="behind",reason="bad_proxy_header"'), 1);
  const [bad] = await eventsWhere(gw, (x) => x.service === 'behind' && x.status === 400);
  assert.equal(bad?.clientIp, '127.0.0.1', 'no header believed: the peer is the client');
});

test('limits with ipv6_prefix 64: the clients of one IPv6 /64 share one place; its place comes back', async () => {
  const port = gw.port('by-net');
  const from = async (ip: string) => {
    const socket = await tcpConnect(port);
    socket.write(`PROXY TCP6 ${ip} ::1 4000 5000\r\nhi`);
    return socket;
  };
  const first = await from('2001:db8:9:9::1');
  const answer = received(first, 500);
  const other = await roundTrip(port, 'PROXY TCP6 2001:db8:9:9:abcd::2 ::1 4000 5000\r\nhi');
  assert.ok(other.closed && other.data.length === 0, 'another address of the same /64');
  assert.equal(await metric(gw, 'tollgate_stream_refused_total', 'stream="by-net",reason="max_connections_per_ip"'), 1);
  assert.equal((await roundTrip(port, 'PROXY TCP6 2001:db8:9:a::1 ::1 4000 5000\r\nhi')).data.toString(), 'echo:hi');
  first.end();
  assert.equal((await answer).data.toString(), 'echo:hi');
  assert.ok(
    await eventually(async () => {
      const again = await roundTrip(port, 'PROXY TCP6 2001:db8:9:9::3 ::1 4000 5000\r\nhi');
      return again.data.toString() === 'echo:hi';
    }, 2000),
    'the /64 has its place back',
  );
});

test('accept: a peer outside trusted_proxies is closed; one that sends no header in time too', async () => {
  const elsewhere = await startGateway({
    trusted_proxies: ['10.0.0.0/8'],
    streams: [
      {
        name: 'behind',
        listen: '127.0.0.1:0',
        proxy_protocol: { accept: true },
        timeouts: { handshake_ms: 200 },
        upstream: { targets: url(firstLine) },
      },
    ],
  });
  try {
    assert.ok((await roundTrip(elsewhere.port('behind'), 'PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n')).closed);
    assert.equal(
      await metric(elsewhere, 'tollgate_stream_refused_total', 'stream="behind",reason="untrusted_proxy"'),
      1,
    );
  } finally {
    await elsewhere.close();
  }
  const silent = await tcpConnect(gw.port('behind'));
  silent.write('PROXY TCP4 1.2.3.4');
  assert.ok((await received(silent, 5000)).closed, 'handshake_ms ran out');
  assert.equal(await metric(gw, 'tollgate_stream_refused_total', 'stream="behind",reason="handshake_timeout"'), 1);
});

test('HAProxy in front (send-proxy-v2) and behind (accept-proxy): both read what the other side wrote', {
  skip: skipWithoutHaproxy,
  timeout: 30000,
}, async (t) => {
  const [front, back] = [await freePort(), await freePort()];
  startHaproxy(t, mkdtempSync(join(tmpdir(), 'tollgate-haproxy-')), [
    // Clients come in here; HAProxy tells the gateway's "behind" stream who they are.
    `listen in_front`,
    `  bind 127.0.0.1:${front}`,
    `  server gw 127.0.0.1:${gw.port('behind')} send-proxy-v2`,
    // The gateway's "v2" stream would send here: HAProxy reads its header and passes the client on in v1.
    `listen behind`,
    `  bind 127.0.0.1:${back} accept-proxy`,
    `  server first_line 127.0.0.1:${firstLine.port} send-proxy`,
  ]);
  // From 127.0.0.2 (all of 127/8 is loopback), so the address that arrives tells who passed it on.
  const fromElsewhere = (port: number, data: string) =>
    new Promise<string>((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port, localAddress: '127.0.0.2' }, () => s.end(data));
      let got = '';
      s.on('data', (d) => (got += d));
      s.on('close', () => resolve(got));
      s.on('error', reject);
    });
  assert.ok(
    await eventually(async () => (await fromElsewhere(front, 'via').catch(() => '')) === 'echo:via', 10000, 100),
    'through HAProxy',
  );
  const [e] = await eventsWhere(gw, (x) => x.service === 'behind' && x.clientIp === '127.0.0.2');
  assert.equal(e?.status, 200);

  const relay = await startGateway({
    streams: [
      {
        name: 'to-haproxy',
        listen: '127.0.0.1:0',
        proxy_protocol: { send: 'v2' },
        upstream: { targets: [{ url: `tcp://127.0.0.1:${back}` }] },
      },
    ],
  });
  try {
    const line = await fromElsewhere(relay.port('to-haproxy'), 'x');
    assert.match(line, /^PROXY TCP4 127\.0\.0\.2 127\.0\.0\.1 \d+ \d+\r\n$/);
  } finally {
    await relay.close();
  }
});
