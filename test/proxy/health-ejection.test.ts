// Passive ejection by failing statuses, every target down, and the checks' Host header.
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { test } from 'node:test';
import { eventually, sleep, type TestGateway } from '../helpers/gateway.ts';
import { keepAliveAgent, send } from '../helpers/http-client.ts';
import { closedPort } from '../helpers/raw-upstream.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';

import { FAST_CHECKS, withGateway } from '../helpers/health-gateway.ts';

test(
  'a target the active checks call down is no last ' + 'resort: a GET the other refuses fails rather than going to it',
  async () => {
    const a = await startUpstream('a', undefined, { healthy: () => false });
    const b = await startUpstream('b');
    // a serves / but fails its checks; b passes them until it goes away, and the next check is up to a second off.
    await withGateway(
      {
        targets: [{ url: a.url }, { url: b.url }],
        retries: 1,
        health: { active: { ...FAST_CHECKS, interval_ms: 1000 }, passive: { max_failures: 0 } },
      },
      async (gw) => {
        const down = await eventually(
          async () => {
            const health = (await (await fetch(`${gw.adminUrl}/health`)).json()) as {
              targets: { id: string; healthy: boolean }[];
            }[];
            return health[0].targets.find((t) => t.id === a.url)?.healthy === false;
          },
          3000,
          20,
        );
        assert.ok(down, 'a never failed its checks');
        await b.close();
        const res = await send(gw.url, '/x');
        assert.notEqual(res.status, 200, res.text);
        assert.equal(
          a.seen.filter((s) => s.url === '/x').length,
          0,
          'the request went to a target its checks call down',
        );
      },
      [a, b],
    );
  },
);

/** A target answering 502 on / (its /healthz passes) listed before a good one, no retries; `badHits` counts its /
 * requests. */
async function withBadTarget(
  health: Record<string, unknown>,
  fn: (gw: TestGateway, bad: TestUpstream, badHits: () => number) => Promise<void>,
) {
  const bad = await startUpstream('bad', (req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    res.writeHead(502, { 'content-type': 'text/plain' }).end('upstream says no');
  });
  const good = await startUpstream('good');
  await withGateway(
    { targets: [{ url: bad.url }, { url: good.url }], retries: 0, health },
    (gw) => fn(gw, bad, () => bad.seen.filter((s) => s.url === '/').length),
    [bad, good],
  );
}

test('a target ejected for failing statuses stays out for ejection_ms although its active checks pass', () =>
  withBadTarget({ active: FAST_CHECKS, passive: { max_failures: 3, ejection_ms: 60000 } }, async (gw, bad, badHits) => {
    const agent = keepAliveAgent();
    for (let i = 0; i < 6; i++) await send(gw.url, '/', { agent });
    assert.equal(badHits(), 3);
    const checksBefore = bad.seen.filter((s) => s.url === '/healthz').length;
    await sleep(400);
    assert.ok(bad.seen.filter((s) => s.url === '/healthz').length > checksBefore, 'checks ran and passed meanwhile');
    for (let i = 0; i < 10; i++) await send(gw.url, '/', { agent });
    assert.equal(badHits(), 3, 'a passing /healthz says nothing of the 502s: the ejection runs its course');
    agent.destroy();
  }));

test('a target answering 502 max_failures times in a row is ejected for ejection_ms', () =>
  withBadTarget({ passive: { max_failures: 3, ejection_ms: 400 } }, async (gw, _bad, badHits) => {
    const agent = keepAliveAgent();
    const statuses = [];
    for (let i = 0; i < 30; i++) statuses.push((await send(gw.url, '/', { agent })).status);
    assert.equal(badHits(), 3, 'the bad target kept getting requests after 3 failures');
    assert.equal(statuses.filter((s) => s === 502).length, 3);

    await sleep(450);
    for (let i = 0; i < 10; i++) await send(gw.url, '/', { agent });
    // Back after its rest, and out again on the first failure: still broken.
    assert.equal(badHits(), 4);
    agent.destroy();
  }));

test('when every target is down by active checks the gateway answers 503 in well under a second', async () => {
  const deadA = `http://127.0.0.1:${await closedPort()}`;
  const deadB = `http://127.0.0.1:${await closedPort()}`;
  await withGateway(
    { targets: [{ url: deadA }, { url: deadB }], health: { active: FAST_CHECKS, passive: { max_failures: 0 } } },
    async (gw) => {
      const ok = await eventually(async () => (await send(gw.url, '/')).status === 503, 2000);
      assert.ok(ok, 'never reported unavailable');
      for (let i = 0; i < 5; i++) {
        const res = await send(gw.url, '/');
        assert.equal(res.status, 503);
        assert.equal(res.json().code, 'GW_ERR_UPSTREAM_UNAVAILABLE');
        assert.ok(res.ms < 250, `took ${res.ms} ms`);
      }
    },
  );
});

test(
  'targets that accept connections but never answer are ' +
    'found down by checks, so requests fail fast instead of waiting',
  async () => {
    const hangers = [await startUpstream('hang-a', () => undefined), await startUpstream('hang-b', () => undefined)];
    const checks = { ...FAST_CHECKS, timeout_ms: 50 };
    // /healthz of the helper answers, so probe a path that hangs.
    await withGateway(
      {
        targets: hangers.map((h) => ({ url: h.url })),
        health: { active: { ...checks, path: '/hang' }, passive: { max_failures: 0 } },
      },
      async (gw) => {
        await sleep(300);
        const res = await send(gw.url, '/');
        assert.equal(res.status, 503, res.text);
        assert.equal(res.json().code, 'GW_ERR_UPSTREAM_UNAVAILABLE');
        assert.ok(res.ms < 250, `took ${res.ms} ms`);
      },
      hangers,
    );
  },
);

test(
  'when passive ejection may take out every target ' +
    '(max_ejected_percent 100) and has, the gateway answers 503 at once',
  async () => {
    const deadA = `http://127.0.0.1:${await closedPort()}`;
    const deadB = `http://127.0.0.1:${await closedPort()}`;
    await withGateway(
      {
        targets: [{ url: deadA }, { url: deadB }],
        retries: 1,
        health: { passive: { max_failures: 1, max_ejected_percent: 100 } },
      },
      async (gw) => {
        const first = await send(gw.url, '/');
        assert.equal(first.status, 502);
        assert.equal(first.json().code, 'GW_ERR_UPSTREAM_REFUSED');
        const next = await send(gw.url, '/');
        assert.equal(next.status, 503);
        assert.equal(next.json().code, 'GW_ERR_UPSTREAM_UNAVAILABLE');
        assert.ok(next.ms < 250, `took ${next.ms} ms`);
      },
    );
  },
);

// Regression: five application 503s on /err ejected the lone target, and /ok got 503 GW_ERR_UPSTREAM_UNAVAILABLE for
// ejection_ms.
test(
  'a lone target answering 503 on one path is not ' + 'passively ejected: its other paths keep being served',
  async () => {
    const app = await startUpstream('app', (req: IncomingMessage, res: ServerResponse) => {
      req.resume();
      res.writeHead(req.url === '/err' ? 503 : 200, { 'content-type': 'text/plain' }).end(req.url);
    });
    await withGateway(
      { targets: [{ url: app.url }], retries: 0 },
      async (gw) => {
        const agent = keepAliveAgent();
        for (let i = 0; i < 10; i++) assert.equal((await send(gw.url, '/err', { agent })).status, 503);
        const ok = await send(gw.url, '/ok', { agent });
        assert.equal(ok.status, 200, ok.text);
        const metrics = await (await fetch(`${gw.adminUrl}/metrics`)).text();
        assert.doesNotMatch(metrics, /^tollgate_upstream_ejections_total\{/m);
        assert.match(
          metrics,
          /^tollgate_upstream_ejections_overflow_total\{service="svc"\} 6$/m,
          'failures 5 to 10 would each have ejected it',
        );
        agent.destroy();
      },
      [app],
    );
  },
);

test(
  'with four failing targets and max_ejected_percent 50, ' + 'two are ejected and the other two keep getting requests',
  async () => {
    const failing = await Promise.all(
      [1, 2, 3, 4].map((n) =>
        startUpstream(`f${n}`, (req: IncomingMessage, res: ServerResponse) => {
          req.resume();
          res.writeHead(503).end();
        }),
      ),
    );
    await withGateway(
      {
        targets: failing.map((u) => ({ url: u.url })),
        retries: 0,
        health: { passive: { max_failures: 2, ejection_ms: 60000, max_ejected_percent: 50 } },
      },
      async (gw) => {
        for (let i = 0; i < 40; i++) assert.equal((await send(gw.url, '/')).status, 503);
        const health = (await (await fetch(`${gw.adminUrl}/health`)).json()) as {
          service: string;
          targets: { id: string; ejected: boolean }[];
        }[];
        const targets = health.find((h) => h.service === 'svc')!.targets;
        assert.equal(targets.filter((t) => t.ejected).length, 2, JSON.stringify(targets));
        const hits = failing.map((u) => u.seen.filter((s) => s.url === '/').length);
        assert.equal(hits.filter((n) => n === 2).length, 2, `the ejected two got max_failures requests each: ${hits}`);
        assert.equal(
          hits.reduce((a, b) => a + b, 0),
          40,
        );
      },
      failing,
    );
  },
);

test(
  'reuse_connection: active checks through the gateway ' + 'keep one connection per target instead of one per check',
  async () => {
    for (const reuse of [false, true]) {
      const a = await startUpstream('a');
      let connections = 0;
      a.server.on('connection', () => connections++);
      await withGateway({
        targets: [{ url: a.url }],
        health: { active: { ...FAST_CHECKS, interval_ms: 50, reuse_connection: reuse } },
      }, async () => {
        // No proxied traffic: every connection the upstream sees is a check's.
        assert.ok(
          await eventually(async () => a.seen.filter((s) => s.url === '/healthz').length >= 6, 3000),
          'checks did not run',
        );
      }, [a]);
      const checks = a.seen.filter((s) => s.url === '/healthz').length;
      if (reuse) assert.equal(connections, 1, `${checks} checks over ${connections} connections`);
      else assert.ok(connections >= 6, `${checks} checks over ${connections} connections`);
    }
  },
);

test('health.active.host is the Host header of the checks; without it the checks name the target', async () => {
  for (const host of ['api.internal:8443', undefined]) {
    const a = await startUpstream('a');
    await withGateway({
      targets: [{ url: a.url }],
      health: { active: { ...FAST_CHECKS, interval_ms: 50, ...(host ? { host } : {}) } },
    }, async () => {
      assert.ok(await eventually(async () => a.seen.some((s) => s.url === '/healthz'), 3000), 'checks did not run');
    }, [a]);
    const hosts = new Set(a.seen.filter((s) => s.url === '/healthz').map((s) => s.headers.host));
    assert.deepEqual(hosts, new Set([host ?? `127.0.0.1:${a.port}`]));
  }
});
