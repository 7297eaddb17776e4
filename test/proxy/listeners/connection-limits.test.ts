// Connection limits of HTTP listeners (listeners[].max_connections_per_ip, connections_per_s): a connection over
// either is closed before a byte of it is read or a TLS handshake begun, and counted; behind a load balancer that
// sends the PROXY protocol the client is the header's address; a reload changes the values; ipv6_prefix counts the
// addresses of an IPv6 network as one client.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { reload } from '../../helpers/admin.ts';
import { issue, makeCa } from '../../helpers/certs.ts';
import { eventually, service, sleep, startGateway, type TestGateway } from '../../helpers/gateway.ts';
import { refusals } from '../../helpers/metrics.ts';
import { handshake } from '../../helpers/tls-client.ts';
import { received, tcpConnect } from '../../helpers/tcp.ts';
import { startUpstream, type TestUpstream } from '../../helpers/upstream.ts';

const dir = mkdtempSync(join(tmpdir(), 'tollgate-conn-limits-'));
const ca = makeCa(dir);
const site = issue(dir, ca, { cn: 'site.test', dns: ['site.test'] });
let upstream: TestUpstream;
let gw: TestGateway;
const open: Socket[] = [];

before(async () => {
  upstream = await startUpstream('up');
  gw = await startGateway({
    trusted_proxies: ['127.0.0.1'],
    listeners: [
      { name: 'per-ip', listen: '127.0.0.1:0', max_connections_per_ip: 2 },
      { name: 'rate', listen: '127.0.0.1:0', connections_per_s: 3, tls: { certificates: [site] } },
      { name: 'balanced', listen: '127.0.0.1:0', max_connections_per_ip: 1, proxy_protocol: { accept: true } },
      {
        name: 'by-net',
        listen: '127.0.0.1:0',
        max_connections_per_ip: 1,
        ipv6_prefix: 64,
        proxy_protocol: { accept: true },
      },
    ],
    services: [service('api', [upstream.url], [{ paths: ['/'] }])],
  });
});
after(async () => {
  for (const s of open) s.destroy();
  await gw?.close();
  await upstream?.close();
});

/** A connection that sends nothing yet, kept open until the end of the file. */
async function hold(port: number, first?: string): Promise<Socket> {
  const socket = await tcpConnect(port);
  if (first) socket.write(first);
  open.push(socket);
  return socket;
}

/** An HTTP/1.1 GET on `socket`; its status line. */
async function get(socket: Socket): Promise<string> {
  const answer = received(socket);
  socket.write('GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  return (await answer).data.toString().split('\r\n')[0]!;
}

test('a third connection from one address is closed unread; once one ends, the next is served', async () => {
  const port = gw.port('per-ip');
  const [first] = [await hold(port), await hold(port)];
  const third = await hold(port);
  const refused = await received(third, 2000);
  assert.deepEqual(refused, { data: Buffer.alloc(0), closed: true });
  assert.equal(await refusals(gw, 'per-ip', 'max_connections_per_ip'), 1);
  assert.equal(await get(first!), 'HTTP/1.1 200 OK', 'the held ones are served');
  await eventually(async () => (await get(await hold(port))) === 'HTTP/1.1 200 OK', 2000);
});

test('new connections over connections_per_s fail before their TLS handshake; the next second has room', async () => {
  const port = gw.port('rate');
  const client = { ca: ca.cert, servername: 'site.test' };
  await sleep(1100); // a full bucket
  const results = await Promise.allSettled(Array.from({ length: 8 }, () => handshake(port, client)));
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 3);
  assert.equal(await refusals(gw, 'rate', 'rate_limited'), 5);
  await sleep(1100);
  assert.equal((await handshake(port, client)).cn, 'site.test');
});

test('behind the PROXY protocol each client address has its own allowance; a reload changes the limit', async () => {
  const port = gw.port('balanced');
  const proxied = (ip: string) => `PROXY TCP4 ${ip} 127.0.0.1 50000 80\r\n`;
  const a = await hold(port, proxied('10.0.0.1'));
  const b = await hold(port, proxied('10.0.0.2'));
  const again = await hold(port, proxied('10.0.0.1'));
  assert.equal((await received(again, 2000)).closed, true);
  assert.equal(await refusals(gw, 'balanced', 'max_connections_per_ip'), 1);
  assert.equal(await get(a), 'HTTP/1.1 200 OK');
  assert.equal(await get(b), 'HTTP/1.1 200 OK');
  await reload(gw, (raw) => {
    raw.listeners[2].max_connections_per_ip = 2;
  });
  const c = await hold(port, proxied('10.0.0.3'));
  const d = await hold(port, proxied('10.0.0.3'));
  assert.equal(await get(c), 'HTTP/1.1 200 OK');
  assert.equal(await get(d), 'HTTP/1.1 200 OK', 'two from one address under the new limit');
});

test('with ipv6_prefix 64 the clients of one IPv6 /64 share one allowance; IPv4 clients have one each', async () => {
  const port = gw.port('by-net');
  const proxied = (ip: string) =>
    ip.includes(':') ? `PROXY TCP6 ${ip} ::1 50000 80\r\n` : `PROXY TCP4 ${ip} 127.0.0.1 50000 80\r\n`;
  const a = await hold(port, proxied('2001:db8:5:6::1'));
  const sameNet = await hold(port, proxied('2001:db8:5:6:ffff::2'));
  assert.equal((await received(sameNet, 2000)).closed, true, 'another address of the same /64');
  assert.equal(await refusals(gw, 'by-net', 'max_connections_per_ip'), 1);
  const otherNet = await hold(port, proxied('2001:db8:5:7::1'));
  const v4 = [await hold(port, proxied('10.0.0.1')), await hold(port, proxied('10.0.0.2'))];
  for (const socket of [a, otherNet, ...v4]) assert.equal(await get(socket), 'HTTP/1.1 200 OK');
  // Their places are given back under the key they were taken with: the /64 has room again.
  await eventually(async () => (await get(await hold(port, proxied('2001:db8:5:6::3')))) === 'HTTP/1.1 200 OK', 2000);
});
