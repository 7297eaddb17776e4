import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startGateway } from '../helpers/gateway.ts';
import { keepAliveAgent, send } from '../helpers/http-client.ts';
import { closedPort } from '../helpers/ports.ts';
import { startUpstream } from '../helpers/upstream.ts';
import { metric } from '../helpers/metrics.ts';

/**
 * Round robin over one refusing and one live target, retries: 1, passive
 * ejection off: every other request fails to connect and wants a retry on the
 * live target. The live target counts the attempts it receives.
 */
async function outage(retryBudget: Record<string, unknown>, requests: number) {
  const live = await startUpstream('live');
  const dead = `http://127.0.0.1:${await closedPort()}`;
  const gw = await startGateway({
    services: [
      {
        name: 'svc',
        routes: [{ paths: ['/'] }],
        upstream: {
          targets: [{ url: dead }, { url: live.url }],
          retries: 1,
          retry_budget: retryBudget,
          health: { passive: { max_failures: 0 } },
        },
      },
    ],
  });
  const agent = keepAliveAgent();
  const codes = new Map<string, number>();
  try {
    for (let i = 0; i < requests; i++) {
      const r = await send(gw.url, `/r${i}`, { agent });
      const key = r.status === 200 ? '200' : r.json().code;
      codes.set(key, (codes.get(key) ?? 0) + 1);
    }
    return {
      codes,
      liveAttempts: live.seen.filter((s) => s.url !== '/healthz').length,
      retried: await metric(gw, 'tollgate_upstream_retries_total', 'service="svc",group=""'),
      skipped: await metric(gw, 'tollgate_upstream_retries_skipped_total', 'service="svc",group=""'),
    };
  } finally {
    agent.destroy();
    await gw.close();
    await live.close();
  }
}

test('the retry budget keeps retries at ratio × requests during an outage; the rest fail without a retry', async () => {
  const r = await outage({ ratio: 0.1, min_per_s: 0 }, 100);
  // 0.1 × 100 requests allows 10 retries at most, however many requests hit the refusing target.
  assert.ok(r.retried <= 10 && r.retried >= 9, `retried ${r.retried}`);
  assert.ok(r.skipped >= 40, `skipped ${r.skipped}`);
  assert.equal(r.codes.get('GW_ERR_UPSTREAM_REFUSED'), r.skipped, 'a skipped retry is the refusal the client gets');
  assert.equal(r.liveAttempts + r.skipped, 100, 'each request ended on the live target or was refused');
  assert.equal(r.codes.get('200'), r.liveAttempts);
  // Attempts on both targets: one per request plus the budgeted retries, never 2× the offered load.
  assert.ok(100 + r.retried <= 110);
});

test(
  'with a generous budget every refused request is retried ' +
    '(the budget only bites when retries would multiply load)',
  async () => {
    const r = await outage({ ratio: 1, min_per_s: 0 }, 40);
    assert.ok(r.retried >= 20, `retried ${r.retried}`);
    assert.equal(r.skipped, 0);
    assert.equal(r.codes.get('200'), 40);
    assert.equal(r.liveAttempts, 40);
  },
);

test('min_per_s lets a quiet upstream retry before any requests have built up a budget', async () => {
  const r = await outage({ ratio: 0, min_per_s: 0.5, window_ms: 10000 }, 20);
  // 0.5/s × 10 s = 5 retries in the window, whatever the request count.
  assert.equal(r.retried, 5);
  assert.ok(r.skipped >= 5, `skipped ${r.skipped}`);
  assert.equal(r.codes.get('GW_ERR_UPSTREAM_REFUSED'), r.skipped);
});

// Regression: after the second target refused, a third attempt (retries: 2) was counted and took budget before
// finding that no target was left; the next request's real retry was then refused by the budget.
test(
  'an attempt that finds no target left spends no ' + 'budget and is not counted: the budget goes to retries sent',
  async () => {
    const deadA = `http://127.0.0.1:${await closedPort()}`;
    const deadB = `http://127.0.0.1:${await closedPort()}`;
    const gw = await startGateway({
      services: [
        {
          name: 'svc',
          routes: [{ paths: ['/'] }],
          upstream: {
            // Room for two retries in the window, none earned by requests.
            targets: [{ url: deadA }, { url: deadB }],
            retries: 2,
            retry_budget: { ratio: 0, min_per_s: 0.2, window_ms: 10000 },
            health: { passive: { max_failures: 0 } },
          },
        },
      ],
    });
    try {
      const codes = [];
      for (let i = 0; i < 3; i++) codes.push((await send(gw.url, `/r${i}`)).json().code);
      assert.deepEqual(codes, ['GW_ERR_UPSTREAM_REFUSED', 'GW_ERR_UPSTREAM_REFUSED', 'GW_ERR_UPSTREAM_REFUSED']);
      // One retry sent by each of the first two requests (to the other target); the third's the budget refused.
      assert.equal(await metric(gw, 'tollgate_upstream_retries_total', 'service="svc",group=""'), 2);
      assert.equal(await metric(gw, 'tollgate_upstream_retries_skipped_total', 'service="svc",group=""'), 1);
    } finally {
      await gw.close();
    }
  },
);
