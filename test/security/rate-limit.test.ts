import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect } from 'node:net';
import { eventually, service, sleep, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { send } from '../helpers/http-client.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { reload } from '../helpers/admin.ts';
import { eventsWhere } from '../helpers/events.ts';
import { metric } from '../helpers/metrics.ts';

const decisions = (gw: TestGateway, policy: string, result: string) =>
  metric(gw, 'tollgate_rate_limit_decisions_total', `service="svc",policy="${policy}",result="${result}"`);

/** Request bodies of /slow the upstream read whole. */
let slowBodies = 0;

/** An upstream answering 500 on /fail, 200 half a second after the whole body on /slow, and 200 elsewhere. */
const upstream = () =>
  startUpstream('up', (req, res) => {
    req.resume();
    const answer = () => res.writeHead(req.url?.startsWith('/fail') ? 500 : 200).end('x');
    if (req.url !== '/slow') return void answer();
    req.on('end', () => {
      slowBodies++;
      setTimeout(answer, 500);
    });
  });

/** A POST to /slow that sends `sent` of a `length`-byte body, waits until `ready`, then hangs up. */
async function hangUp(gw: TestGateway, length: number, sent: string, ready: () => Promise<unknown>): Promise<void> {
  const socket = connect(gw.proxy.port, '127.0.0.1');
  socket.on('error', () => {});
  socket.write(`POST /slow HTTP/1.1\r\nHost: a\r\nContent-Length: ${length}\r\n\r\n${sent}`);
  await ready();
  socket.destroy();
}

async function withGateway(
  rateLimits: unknown[],
  fn: (gw: TestGateway, up: TestUpstream) => Promise<void>,
  more: object = {},
): Promise<void> {
  const up = await upstream();
  const routes = [
    { name: 'a', paths: ['/a', '/fail', '/slow'] },
    { name: 'b', paths: ['/b'] },
  ];
  const gw = await startGateway({
    services: [{ ...service('svc', [up.url], routes), rate_limits: rateLimits }],
    ...more,
  });
  try {
    await fn(gw, up);
  } finally {
    await gw.close();
    await up.close();
  }
}

const statuses = async (gw: TestGateway, path: string, n: number, opts = {}) => {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await send(gw.url, path, opts)).status);
  return out;
};

test('returns 429 GW_ERR_RATE_LIMITED with Retry-After and RateLimit headers once the bucket is empty', async () => {
  await withGateway([{ name: 'svc-qps', qps: 1, burst: 3 }], async (gw) => {
    assert.deepEqual(await statuses(gw, '/a', 3), [200, 200, 200]);
    const res = await send(gw.url, '/a');
    assert.equal(res.status, 429);
    assert.equal(res.json().code, 'GW_ERR_RATE_LIMITED');
    assert.equal(res.headers['retry-after'], '1');
    assert.equal(res.headers['ratelimit-limit'], '3');
    assert.equal(res.headers['ratelimit-remaining'], '0');
    assert.equal(res.headers['ratelimit-reset'], '1');
    assert.equal(await decisions(gw, 'svc-qps', 'allowed'), 3);
    assert.equal(await decisions(gw, 'svc-qps', 'limited'), 1);
    assert.equal(await metric(gw, 'tollgate_gateway_errors_total', 'code="GW_ERR_RATE_LIMITED"'), 1);
    const [e] = await eventsWhere(gw, (ev) => ev.status === 429);
    assert.equal(e.errorClass, 'rate_limited');
    assert.equal(e.upstreamStatus, 0);
    assert.equal(e.service, 'svc');
    // A service-keyed policy covers every route of the service.
    assert.equal((await send(gw.url, '/b')).status, 429);
  });
});

test('a client_ip policy gives each client address its own bucket', async () => {
  await withGateway([{ name: 'per-ip', key: 'client_ip', qps: 1, burst: 2 }], async (gw) => {
    assert.deepEqual(await statuses(gw, '/a', 3, { localAddress: '127.0.0.2' }), [200, 200, 429]);
    assert.deepEqual(await statuses(gw, '/a', 3, { localAddress: '127.0.0.3' }), [200, 200, 429]);
    // A spoofed X-Forwarded-For (no trusted proxies) does not buy a fresh bucket.
    assert.equal(
      (await send(gw.url, '/a', { localAddress: '127.0.0.2', headers: { 'x-forwarded-for': '10.9.9.9' } })).status,
      429,
    );
    assert.equal(await metric(gw, 'tollgate_rate_limit_keys', 'service="svc",policy="per-ip"'), 2);
  });
});

test('with ipv6_prefix 64 the IPv6 clients of one /64 share a bucket, whatever address each uses', async () => {
  const policy = { name: 'per-net', key: 'client_ip', qps: 1, burst: 2, ipv6_prefix: 64 };
  await withGateway(
    [policy],
    async (gw) => {
      const from = async (ip: string) => (await send(gw.url, '/a', { headers: { 'x-forwarded-for': ip } })).status;
      assert.deepEqual(
        [await from('2001:db8:1:2::1'), await from('2001:db8:1:2:ffff::9'), await from('2001:DB8:1:2:0:0:abc:1')],
        [200, 200, 429],
        'three addresses of one /64, one bucket',
      );
      assert.equal(await from('2001:db8:1:3::1'), 200, 'the next /64 has its own');
      assert.deepEqual([await from('192.0.2.1'), await from('192.0.2.2')], [200, 200], 'IPv4 addresses count each');
      assert.equal(await metric(gw, 'tollgate_rate_limit_keys', 'service="svc",policy="per-net"'), 4);
      const [e] = await eventsWhere(gw, (ev) => ev.status === 429);
      assert.equal(e.clientIp, '2001:db8:1:2::abc:1', 'the event keeps the address itself, in its one spelling');
    },
    { trusted_proxies: ['127.0.0.1'] },
  );
});

test('a route policy counts each route apart and one naming routes leaves the others alone', async () => {
  await withGateway(
    [
      { name: 'per-route', key: 'route', qps: 1 },
      { name: 'only-b', routes: ['b'], qps: 1, burst: 2 },
    ],
    async (gw) => {
      assert.deepEqual(await statuses(gw, '/a', 2), [200, 429]);
      assert.deepEqual(await statuses(gw, '/b', 2), [200, 429]);
      assert.equal(await decisions(gw, 'per-route', 'limited'), 2);
      // only-b saw just the one /b request that per-route let through.
      assert.equal(await decisions(gw, 'only-b', 'allowed'), 1);
    },
  );
});

test('QPD counts billable requests only: upstream 5xx answers do not use the quota', async () => {
  await withGateway([{ name: 'daily', qpd: 2 }], async (gw, up) => {
    assert.deepEqual(await statuses(gw, '/fail', 3), [500, 500, 500]);
    assert.deepEqual(await statuses(gw, '/a', 2), [200, 200]);
    const res = await send(gw.url, '/a');
    assert.equal(res.status, 429);
    assert.equal(res.json().code, 'GW_ERR_QUOTA_EXCEEDED');
    assert.equal(res.headers['ratelimit-limit'], '2');
    const untilMidnight = Math.ceil((Math.floor(Date.now() / 86_400_000 + 1) * 86_400_000 - Date.now()) / 1000);
    assert.ok(
      Math.abs(Number(res.headers['retry-after']) - untilMidnight) <= 2,
      `Retry-After ${res.headers['retry-after']} ≈ ${untilMidnight} s to UTC midnight`,
    );
    assert.equal(up.seen.filter((s) => s.url === '/a').length, 2);
    assert.equal(await decisions(gw, 'daily', 'quota_exceeded'), 1);
    assert.equal(await metric(gw, 'tollgate_gateway_errors_total', 'code="GW_ERR_QUOTA_EXCEEDED"'), 1);
    const [e] = await eventsWhere(gw, (ev) => ev.status === 429);
    assert.equal(e.errorClass, 'quota_exceeded');
  });
});

test('QPD: a client that hangs up once its whole request is forwarded uses the quota; mid-upload, not', async () => {
  await withGateway([{ name: 'daily', qpd: 2 }], async (gw, up) => {
    await hangUp(gw, 10, 'half', () => sleep(200));
    const before = slowBodies;
    await hangUp(gw, 5, 'whole', () => eventually(() => slowBodies === before + 1));
    assert.equal(slowBodies, before + 1, 'the upstream read the whole body');
    await eventually(async () => (await eventsWhere(gw, (e) => e.status === 499)).length === 2);
    // The upload cut short was refunded; the request the upstream had whole was not, were it answered or not.
    assert.equal((await send(gw.url, '/a')).status, 200);
    assert.equal((await send(gw.url, '/a')).status, 429);
    assert.equal(up.seen.filter((r) => r.url === '/a').length, 1);
    const classes = (await eventsWhere(gw, (e) => e.status === 499)).map((e) => e.errorClass).sort();
    assert.deepEqual(classes, ['client_closed', 'client_closed_late']);
  });
});

test('QPD is exact under concurrency: 50 parallel requests against a quota of 10 get 10 through', async () => {
  await withGateway([{ name: 'daily', qpd: 10 }], async (gw, up) => {
    const all = await Promise.all(Array.from({ length: 50 }, () => send(gw.url, '/a')));
    assert.equal(all.filter((r) => r.status === 200).length, 10);
    assert.equal(all.filter((r) => r.status === 429).length, 40);
    assert.equal(up.seen.filter((s) => s.url === '/a').length, 10);
  });
});

test('a request refused by a later policy gives back the quota an earlier one reserved', async () => {
  await withGateway(
    [
      { name: 'daily', qpd: 3 },
      { name: 'qps', qps: 1, burst: 1 },
    ],
    async (gw) => {
      assert.deepEqual(await statuses(gw, '/a', 4), [200, 429, 429, 429]);
      assert.equal(await decisions(gw, 'qps', 'limited'), 3);
      // The three refusals were refunded: two more billable requests still fit today's quota of 3.
      await new Promise((r) => setTimeout(r, 1100));
      assert.equal((await send(gw.url, '/a')).status, 200);
    },
  );
});

test('limits survive a config reload that keeps the policy', async () => {
  await withGateway([{ name: 'daily', qpd: 2 }], async (gw) => {
    assert.deepEqual(await statuses(gw, '/a', 2), [200, 200]);
    await reload(gw, (c) => {
      c.services[0].routes[0].paths.push('/c');
    });
    assert.equal((await send(gw.url, '/c')).status, 429);
  });
});
