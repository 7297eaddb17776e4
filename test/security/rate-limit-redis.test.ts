import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { eventually, service, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { freePort, startGatewayProcess, tempDir, writeYaml } from '../helpers/gateway-process.ts';
import { send } from '../helpers/http-client.ts';
import { startPrivateRedis } from '../helpers/redis-server.ts';
import { startUpstream } from '../helpers/upstream.ts';
import { eventsWhere } from '../helpers/events.ts';
import { metric } from '../helpers/metrics.ts';

const REDIS_URL = process.env.TOLLGATE_TEST_REDIS_URL;
const skip =
  !REDIS_URL && process.env.CI !== 'true'
    ? 'TOLLGATE_TEST_REDIS_URL is unset; run `npm run services:up` and export the variables it prints'
    : false;

test('limits under concurrency: two worker processes sharing a Redis policy admit no more than the limit', {
  skip,
}, async (t) => {
  assert.ok(REDIS_URL, 'CI=true requires TOLLGATE_TEST_REDIS_URL (`npm run services:up`)');
  const up = await startUpstream('up');
  const dir = tempDir();
  const file = writeYaml(dir, 'tollgate.yaml', {
    workers: 2,
    proxy: { listen: `127.0.0.1:${await freePort()}` },
    admin: { listen: `127.0.0.1:${await freePort()}` },
    store: { dir: `${dir}/store` },
    log: { level: 'info' },
    // A generous timeout: this test is about atomicity, and a refusal (closed) can never admit extra.
    rate_limit: { redis_url: REDIS_URL, prefix: `tollgate-test-${randomBytes(6).toString('hex')}:`, timeout_ms: 1000 },
    services: [
      {
        ...service('qps', [up.url], [{ name: 'qps', paths: ['/qps'] }]),
        rate_limits: [{ name: 'q', qps: 2, burst: 20, backend: 'redis', on_redis_error: 'closed' }],
      },
      {
        ...service('qpd', [up.url], [{ name: 'qpd', paths: ['/qpd'] }]),
        rate_limits: [{ name: 'd', qpd: 30, backend: 'redis', on_redis_error: 'closed' }],
      },
    ],
  });
  let gw: Awaited<ReturnType<typeof startGatewayProcess>> | undefined;
  try {
    gw = await startGatewayProcess(file, { startTimeoutMs: 30_000 });
    const proxyUrl = gw.proxyUrl;
    const adminUrl = gw.adminUrl;
    const burst = async (path: string, n: number) => {
      const started = performance.now();
      const all = await Promise.all(Array.from({ length: n }, () => send(proxyUrl, path)));
      return {
        ok: all.filter((r) => r.status === 200).length,
        refused: all.filter((r) => r.status === 429).length,
        other: all.filter((r) => r.status !== 200 && r.status !== 429).length,
        seconds: (performance.now() - started) / 1000,
      };
    };
    const q = await burst('/qps', 200);
    t.diagnostic(`qps: ${q.ok} of 200 admitted in ${q.seconds.toFixed(2)} s`);
    assert.equal(q.other, 0);
    // Burst 20 plus what 2/s refills while the 200 requests run; two separate buckets would have let ~40 through.
    assert.ok(q.ok >= 20 && q.ok <= 20 + Math.ceil(q.seconds * 2), `admitted ${q.ok} in ${q.seconds.toFixed(2)} s`);
    const d = await burst('/qpd', 200);
    assert.deepEqual({ ok: d.ok, refused: d.refused, other: d.other }, { ok: 30, refused: 170, other: 0 });
    assert.equal(up.seen.filter((s) => s.url === '/qpd').length, 30);
    // Both workers took part (the primary sums their counters).
    const text = await (await fetch(`${adminUrl}/metrics`)).text();
    assert.match(text, /tollgate_rate_limit_decisions_total\{service="qpd",policy="d",result="allowed"\} 30/);
  } finally {
    await gw?.stop();
    await up.close();
  }
});

const decisions = (gw: TestGateway, svc: string, result: string) =>
  metric(gw, 'tollgate_rate_limit_decisions_total', `service="${svc}",policy="p",result="${result}"`);

test(
  'Redis stopped mid-test: fail-open keeps the insurance ' + 'limit, fail-closed answers 503 at once, and both recover',
  async (t) => {
    const redis = await startPrivateRedis(t);
    if (!redis) return;
    const up = await startUpstream('up');
    const policy = { name: 'p', qps: 1, burst: 4, backend: 'redis' };
    const gw = await startGateway({
      rate_limit: { redis_url: redis.url, prefix: 'rl-test:', insurance_fraction: 0.5 },
      services: [
        {
          ...service('open', [up.url], [{ name: 'open', paths: ['/open'] }]),
          rate_limits: [{ ...policy, on_redis_error: 'open' }],
        },
        {
          ...service('closed', [up.url], [{ name: 'closed', paths: ['/closed'] }]),
          rate_limits: [{ ...policy, on_redis_error: 'closed' }],
        },
      ],
    });
    const statuses = async (path: string, n: number) => {
      const out: number[] = [];
      for (let i = 0; i < n; i++) out.push((await send(gw.url, path)).status);
      return out;
    };
    const admitted = async (path: string, n: number) => {
      const started = performance.now();
      const s = await statuses(path, n);
      assert.ok(
        s.every((x) => x === 200 || x === 429),
        String(s),
      );
      return { ok: s.filter((x) => x === 200).length, seconds: (performance.now() - started) / 1000 };
    };
    try {
      // Connected: the shared bucket decides.
      assert.ok(await eventually(async () => (await send(gw.url, '/closed')).status === 200), 'redis reachable');
      let r = await admitted('/open', 6);
      // A Redis answer slower than the 10 ms budget on a busy machine is a legitimate fail-open, admitted by the
      // insurance bucket (burst 2) even when the shared bucket was empty: each bucket is bounded on its own.
      const shared = await decisions(gw, 'open', 'allowed');
      const insured = await decisions(gw, 'open', 'error_open');
      assert.equal(shared + insured, r.ok);
      const seen = `${shared} + ${insured} fail-open admitted in ${r.seconds} s`;
      // The shared bucket: burst 4, plus at most one token per second the loop takes.
      assert.ok(shared >= 1 && shared <= 4 + Math.floor(r.seconds), seen);
      assert.ok(insured <= 2 + Math.floor(r.seconds / 2), seen);
      if (insured === 0) assert.ok(r.ok >= 4, seen);

      const outage = Date.now();
      // Requests before the first connect may already have failed closed: count from here.
      const closedBefore = await decisions(gw, 'closed', 'error_closed');
      const errorsBefore = await metric(gw, 'tollgate_gateway_errors_total', 'code="GW_ERR_RATE_LIMIT_UNAVAILABLE"');
      await redis.stop();
      // Open: the in-process insurance bucket holds half the limit (burst 2), answered without waiting on Redis.
      const limitedBefore = await decisions(gw, 'open', 'limited');
      const openBefore = await decisions(gw, 'open', 'error_open');
      r = await admitted('/open', 5);
      // A slow Redis answer before the outage was a fail-open too, and took its token from the same
      // insurance bucket (refilled at 0.5 a second): the bucket may start the outage short by that many.
      const least = Math.max(0, 2 - openBefore);
      assert.ok(
        r.ok >= least && r.ok <= 2 + Math.floor(r.seconds / 2),
        `${r.ok} admitted in ${r.seconds} s (${openBefore} fail-opens before the outage)`,
      );
      assert.equal(await decisions(gw, 'open', 'error_open'), openBefore + r.ok);
      assert.equal(await decisions(gw, 'open', 'limited'), limitedBefore + 5 - r.ok);
      // Closed: 503 with its code.
      const res = await send(gw.url, '/closed');
      assert.equal(res.status, 503);
      assert.equal(res.json().code, 'GW_ERR_RATE_LIMIT_UNAVAILABLE');
      assert.equal(await statuses('/closed', 4).then((s) => s.every((x) => x === 503)), true);
      assert.equal(await decisions(gw, 'closed', 'error_closed'), closedBefore + 5);
      assert.equal(
        await metric(gw, 'tollgate_gateway_errors_total', 'code="GW_ERR_RATE_LIMIT_UNAVAILABLE"'),
        errorsBefore + 5,
      );
      const events = await eventsWhere(gw, (e) => e.status === 503 && e.service === 'closed' && e.startMs >= outage, 5);
      assert.ok(events.every((e) => e.errorClass === 'rate_limited' && e.upstreamStatus === 0));
      // Decided within the 10 ms budget: the typical refusal's whole gateway time. A shared 2-core
      // machine can stall any one request for tens of ms (GC, another process), so the slowest
      // is held only to "never waits on Redis" (well under the 1 s reconnect a hang would show).
      const gatewayUs = events.map((e) => e.gatewayUs).sort((a, b) => a - b);
      t.diagnostic(`fail-closed gateway µs: ${gatewayUs}`);
      assert.ok(
        gatewayUs[Math.floor(gatewayUs.length / 2)] < 10_000,
        `median fail-closed answer took ${gatewayUs} µs in the gateway`,
      );
      assert.ok(
        gatewayUs[gatewayUs.length - 1] < 250_000,
        `slowest fail-closed answer took ${gatewayUs} µs in the gateway`,
      );
      const openEvents = await eventsWhere(gw, (e) => e.service === 'open' && e.startMs >= outage, 5);
      assert.equal(openEvents.length, 5);
      const openUs = openEvents.map((e) => e.gatewayUs).sort((a, b) => a - b);
      assert.ok(openUs[2] < 10_000 && openUs[4] < 250_000, `fail-open gateway times ${openUs} µs`);

      await redis.start();
      // Back: the closed service is served again and the open one uses the (fresh) shared bucket.
      assert.ok(await eventually(async () => (await send(gw.url, '/closed')).status === 200, 5000), 'closed recovers');
      const before = await decisions(gw, 'open', 'allowed');
      assert.equal((await send(gw.url, '/open')).status, 200);
      assert.equal(await decisions(gw, 'open', 'allowed'), before + 1);
    } finally {
      await gw.close();
      await up.close();
    }
  },
);

test(
  'a hung Redis (connections open, no answers): both modes decide ' +
    'within the timeout, never wait on it, and recover when it answers again',
  async (t) => {
    const redis = await startPrivateRedis(t);
    if (!redis) return;
    const up = await startUpstream('up');
    const policy = { name: 'p', qps: 100, burst: 100, backend: 'redis' };
    const gw = await startGateway({
      rate_limit: { redis_url: redis.url, prefix: 'rl-hang:' },
      services: [
        {
          ...service('open', [up.url], [{ name: 'open', paths: ['/open'] }]),
          rate_limits: [{ ...policy, on_redis_error: 'open' }],
        },
        {
          ...service('closed', [up.url], [{ name: 'closed', paths: ['/closed'] }]),
          rate_limits: [{ ...policy, on_redis_error: 'closed' }],
        },
      ],
    });
    try {
      assert.ok(await eventually(async () => (await send(gw.url, '/closed')).status === 200), 'redis reachable');
      redis.freeze();
      const since = Date.now();
      const open: number[] = [];
      const closed: number[] = [];
      for (let i = 0; i < 5; i++) {
        open.push((await send(gw.url, '/open')).status);
        closed.push((await send(gw.url, '/closed')).status);
      }
      assert.deepEqual(open, [200, 200, 200, 200, 200]);
      assert.deepEqual(closed, [503, 503, 503, 503, 503]);
      assert.equal((await decisions(gw, 'open', 'error_open')) >= 5, true);
      assert.equal((await decisions(gw, 'closed', 'error_closed')) >= 5, true);
      // Each answer waited for the default 8 ms command timeout, not for the hung server: the typical
      // one within the 10 ms, the slowest (a loaded machine) still far from a hang.
      const events = await eventsWhere(
        gw,
        (e) => e.startMs >= since && (e.service === 'open' || e.service === 'closed'),
        10,
      );
      const us = events.map((e) => e.gatewayUs).sort((a, b) => a - b);
      t.diagnostic(`gateway µs while Redis hung: ${us}`);
      assert.equal(us.length, 10);
      assert.ok(us[5] < 10_000, `median ${us[5]} µs`);
      assert.ok(us[9] < 250_000, `slowest ${us[9]} µs`);
      redis.thaw();
      assert.ok(await eventually(async () => (await send(gw.url, '/closed')).status === 200, 5000), 'closed recovers');
    } finally {
      await gw.close();
      await up.close();
    }
  },
);
