import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { test } from 'node:test';
import { eventually, sleep, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { send } from '../helpers/http-client.ts';
import { closedPort } from '../helpers/ports.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { reload } from '../helpers/admin.ts';
import { eventsWhere } from '../helpers/events.ts';
import { metric } from '../helpers/metrics.ts';

// open_ms leaves room for a loaded test machine: a refusal expected inside it must not land after it.
const BREAKER = {
  enabled: true,
  min_requests: 5,
  error_ratio: 0.5,
  window_ms: 10000,
  open_ms: 1000,
  half_open_probes: 2,
};

/** An upstream whose answer the test switches: 503 while `failing`, else 200. */
async function flakyUpstream() {
  const state = { failing: true, hold: false, held: [] as ServerResponse[] };
  const up = await startUpstream('flaky', (req, res) => {
    req.resume();
    if (state.hold) {
      state.held.push(res);
      return;
    }
    res.writeHead(state.failing ? 503 : 200, { 'content-type': 'text/plain' }).end(state.failing ? 'down' : 'ok');
  });
  return { up, state };
}

async function withGateway(
  upstream: Record<string, unknown>,
  fn: (gw: TestGateway) => Promise<void>,
  cleanup: TestUpstream[],
) {
  // Passive ejection off: with one target it would turn the outage into GW_ERR_UPSTREAM_UNAVAILABLE before the breaker
  // speaks.
  const gw = await startGateway({
    services: [
      {
        name: 'svc',
        routes: [{ name: 'r', paths: ['/'] }],
        upstream: { health: { passive: { max_failures: 0 } }, ...upstream },
      },
    ],
  });
  try {
    await fn(gw);
  } finally {
    await gw.close();
    await Promise.all(cleanup.map((u) => u.close()));
  }
}

const upstreamHits = (u: TestUpstream) => u.seen.filter((s) => s.url !== '/healthz').length;

async function tripBreaker(gw: TestGateway, up: TestUpstream): Promise<void> {
  for (let i = 0; i < 5; i++) assert.equal((await send(gw.url, `/fail-${i}`)).status, 503);
  assert.equal(upstreamHits(up), 5);
}

test(
  'the breaker opens after min_requests outcomes at the error ' +
    'ratio, then answers 503 GW_ERR_CIRCUIT_OPEN without calling the upstream',
  async () => {
    const { up } = await flakyUpstream();
    await withGateway(
      { targets: [{ url: up.url }], breaker: { ...BREAKER, open_ms: 60000 } },
      async (gw) => {
        assert.equal(await metric(gw, 'tollgate_upstream_breaker_state', 'service="svc",group=""'), 0);
        // Four failures are below the minimum volume: the fifth request still reaches the upstream.
        await tripBreaker(gw, up);
        const res = await send(gw.url, '/after');
        assert.equal(res.status, 503);
        assert.equal(res.json().code, 'GW_ERR_CIRCUIT_OPEN');
        assert.ok(Number(res.headers['retry-after']) >= 59);
        for (let i = 0; i < 10; i++) assert.equal((await send(gw.url, '/more')).json().code, 'GW_ERR_CIRCUIT_OPEN');
        assert.equal(upstreamHits(up), 5, 'the upstream is not called while open');

        assert.equal(await metric(gw, 'tollgate_upstream_breaker_state', 'service="svc",group=""'), 1);
        assert.equal(
          await metric(gw, 'tollgate_upstream_breaker_transitions_total', 'service="svc",group="",to="open"'),
          1,
        );
        assert.equal(await metric(gw, 'tollgate_upstream_breaker_rejected_total', 'service="svc",group=""'), 11);
        assert.equal(await metric(gw, 'tollgate_gateway_errors_total', 'code="GW_ERR_CIRCUIT_OPEN"'), 11);
        const events = await eventsWhere(gw, (e) => e.errorClass === 'circuit_open', 11);
        assert.equal(events.length, 11);
        assert.ok(
          events.every((e) => e.status === 503 && e.service === 'svc' && e.upstreamStatus === 0 && e.target === ''),
        );
      },
      [up],
    );
  },
);

test('a connect failure counts as a failure: a dead upstream trips the breaker too', async () => {
  const dead = `http://127.0.0.1:${await closedPort()}`;
  await withGateway(
    { targets: [{ url: dead }], retries: 0, breaker: BREAKER },
    async (gw) => {
      for (let i = 0; i < 5; i++) assert.equal((await send(gw.url, '/')).json().code, 'GW_ERR_UPSTREAM_REFUSED');
      assert.equal((await send(gw.url, '/')).json().code, 'GW_ERR_CIRCUIT_OPEN');
    },
    [],
  );
});

test('after open_ms only half_open_probes requests reach the upstream; their success closes the circuit', async () => {
  const { up, state } = await flakyUpstream();
  await withGateway(
    { targets: [{ url: up.url }], breaker: BREAKER },
    async (gw) => {
      await tripBreaker(gw, up);
      await sleep(1050);
      state.failing = false;
      state.hold = true;
      const inflight = [send(gw.url, '/probe-1'), send(gw.url, '/probe-2')];
      assert.ok(await eventually(() => state.held.length === 2, 2000));
      // Half-open with both probes out: a third request is refused at once.
      const third = await send(gw.url, '/probe-3');
      assert.equal(third.json().code, 'GW_ERR_CIRCUIT_OPEN');
      assert.equal(await metric(gw, 'tollgate_upstream_breaker_state', 'service="svc",group=""'), 2);
      assert.equal(upstreamHits(up), 7);
      state.hold = false;
      for (const r of state.held) r.writeHead(200).end('ok');
      assert.deepEqual(
        (await Promise.all(inflight)).map((r) => r.status),
        [200, 200],
      );
      assert.equal(await metric(gw, 'tollgate_upstream_breaker_state', 'service="svc",group=""'), 0);
      for (let i = 0; i < 10; i++) assert.equal((await send(gw.url, '/ok')).status, 200);
      assert.equal(
        await metric(gw, 'tollgate_upstream_breaker_transitions_total', 'service="svc",group="",to="half_open"'),
        1,
      );
      assert.equal(
        await metric(gw, 'tollgate_upstream_breaker_transitions_total', 'service="svc",group="",to="closed"'),
        1,
      );
    },
    [up],
  );
});

test('a failed half-open probe opens the circuit again', async () => {
  const { up } = await flakyUpstream();
  await withGateway(
    { targets: [{ url: up.url }], breaker: BREAKER },
    async (gw) => {
      await tripBreaker(gw, up);
      await sleep(1050);
      assert.equal((await send(gw.url, '/probe')).status, 503, 'the probe reaches the still-failing upstream');
      assert.equal(upstreamHits(up), 6);
      assert.equal((await send(gw.url, '/after')).json().code, 'GW_ERR_CIRCUIT_OPEN');
      assert.equal(upstreamHits(up), 6);
      assert.equal(
        await metric(gw, 'tollgate_upstream_breaker_transitions_total', 'service="svc",group="",to="open"'),
        2,
      );
    },
    [up],
  );
});

test(
  'a reload that leaves the upstream unchanged keeps ' + 'the open circuit; one that changes it starts closed',
  async () => {
    const { up, state } = await flakyUpstream();
    await withGateway(
      { targets: [{ url: up.url }], breaker: { ...BREAKER, open_ms: 60000 } },
      async (gw) => {
        await tripBreaker(gw, up);
        state.failing = false;
        await reload(gw, (c) => {
          c.services[0].routes.push({ name: 'r2', paths: ['/other'] });
        });
        assert.equal((await send(gw.url, '/other')).json().code, 'GW_ERR_CIRCUIT_OPEN', 'state survived the reload');
        assert.equal(upstreamHits(up), 5);
        await reload(gw, (c) => {
          c.services[0].upstream.timeouts = { connect_ms: 1500 };
        });
        assert.equal((await send(gw.url, '/')).status, 200, 'a changed upstream gets a fresh breaker');
        assert.equal(await metric(gw, 'tollgate_upstream_breaker_state', 'service="svc",group=""'), 0);
      },
      [up],
    );
  },
);

test('with the breaker disabled (the default) a failing upstream is always called', async () => {
  const { up } = await flakyUpstream();
  await withGateway(
    { targets: [{ url: up.url }] },
    async (gw) => {
      for (let i = 0; i < 30; i++) assert.equal((await send(gw.url, '/')).status, 503);
      assert.equal(upstreamHits(up), 30);
      assert.equal(await metric(gw, 'tollgate_upstream_breaker_rejected_total', 'service="svc",group=""'), 0);
    },
    [up],
  );
});
