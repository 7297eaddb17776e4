import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { test } from 'node:test';
import { eventually, sleep } from '../helpers/gateway.ts';
import { keepAliveAgent, send, type SendResult } from '../helpers/http-client.ts';
import { closedPort } from '../helpers/raw-upstream.ts';
import { metric } from '../helpers/metrics.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';

import { FAST_CHECKS, withGateway } from '../helpers/health-gateway.ts';

const nameOf = (r: SendResult) => (r.status === 200 ? r.json().name : `status ${r.status}`);

test(
  'with active checks, a stopped target stops getting ' +
    'traffic within about one interval, and comes back when restored',
  async () => {
    const a = await startUpstream('a');
    const b = await startUpstream('b');
    // No retries and no passive ejection: only the active checker can hide a dead target.
    await withGateway(
      {
        targets: [{ url: a.url }, { url: b.url }],
        retries: 0,
        health: { active: FAST_CHECKS, passive: { max_failures: 0 } },
      },
      async (gw) => {
        const agent = keepAliveAgent();
        const warm = [];
        for (let i = 0; i < 4; i++) warm.push(nameOf(await send(gw.url, '/', { agent })));
        assert.deepEqual(new Set(warm), new Set(['a', 'b']));

        await a.close();
        await sleep(250);
        const after = [];
        for (let i = 0; i < 40; i++) after.push(nameOf(await send(gw.url, '/', { agent })));
        assert.deepEqual(new Set(after), new Set(['b']), `after stopping a: ${after}`);

        await new Promise<void>((r) => a.server.listen(a.port, '127.0.0.1', () => r()));
        const seenBefore = a.seen.filter((s) => s.url === '/').length;
        const restoredMs = performance.now();
        const back = await eventually(async () => nameOf(await send(gw.url, '/', { agent })) === 'a', 2000, 10);
        assert.ok(back, 'a never came back');
        assert.ok(performance.now() - restoredMs < 1000, `took ${performance.now() - restoredMs} ms`);
        assert.ok(a.seen.filter((s) => s.url === '/').length > seenBefore);
        agent.destroy();
      },
      [a, b],
    );
  },
);

test('an idempotent GET whose target refuses the connection is retried on another target', async () => {
  const live = await startUpstream('live');
  const dead = `http://127.0.0.1:${await closedPort()}`;
  await withGateway(
    {
      targets: [{ url: dead }, { url: live.url }],
      retries: 1,
      health: { passive: { max_failures: 0 } },
    },
    async (gw) => {
      const results = [];
      for (let i = 0; i < 20; i++) results.push(nameOf(await send(gw.url, '/get')));
      assert.deepEqual(new Set(results), new Set(['live']), String(results));
      const metrics = await (await fetch(`${gw.adminUrl}/metrics`)).text();
      const retried = /^tollgate_upstream_retries_total\{service="svc",group=""\} (\d+)/m.exec(metrics);
      assert.ok(retried && Number(retried[1]) >= 10, `retries metric: ${retried?.[0]}`);
    },
    [live],
  );
});

// Regression: the retry of a lone target that refused found no other target and answered 503
// GW_ERR_UPSTREAM_UNAVAILABLE
// ("no healthy target"), where the same upstream with retries: 0 answered 502 GW_ERR_UPSTREAM_REFUSED.
// Regression: that retry was also counted in tollgate_upstream_retries_total (and spent retry budget) though it was
// never sent.
test(
  'a retry that finds no other target to try answers the ' +
    'failure it retried, 502 GW_ERR_UPSTREAM_REFUSED, and is not counted',
  async () => {
    const dead = `http://127.0.0.1:${await closedPort()}`;
    await withGateway(
      { targets: [{ url: dead }], retries: 1, health: { passive: { max_failures: 0 } } },
      async (gw) => {
        const res = await send(gw.url, '/get');
        assert.equal(res.status, 502, res.text);
        assert.equal(res.json().code, 'GW_ERR_UPSTREAM_REFUSED');
        assert.equal(await metric(gw, 'tollgate_upstream_retries_total', 'service="svc",group=""'), 0);
        assert.equal(await metric(gw, 'tollgate_upstream_retries_skipped_total', 'service="svc",group=""'), 0);
      },
    );
  },
);

test(
  'a GET refused by one of two targets succeeds on the ' +
    'other, and tollgate_upstream_retries_total counts that one retry',
  async () => {
    const live = await startUpstream('live');
    const dead = `http://127.0.0.1:${await closedPort()}`;
    // Round robin starts with the first target listed: the refusing one.
    await withGateway(
      { targets: [{ url: dead }, { url: live.url }], retries: 1, health: { passive: { max_failures: 0 } } },
      async (gw) => {
        const res = await send(gw.url, '/get');
        assert.equal(res.status, 200, res.text);
        assert.equal(res.json().name, 'live');
        assert.equal(live.seen.filter((s) => s.url === '/get').length, 1);
        assert.equal(await metric(gw, 'tollgate_upstream_retries_total', 'service="svc",group=""'), 1);
        assert.equal(await metric(gw, 'tollgate_upstream_retries_skipped_total', 'service="svc",group=""'), 0);
      },
      [live],
    );
  },
);

test(
  'a POST whose connect failed is retried on another ' + 'target with its whole body, by Content-Length or chunked',
  async () => {
    // Answers with the body it read, so a retry that lost or repeated a byte shows.
    const live = await startUpstream('live', (req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => res.writeHead(200, { 'content-type': 'text/plain' }).end(Buffer.concat(chunks)));
    });
    const dead = `http://127.0.0.1:${await closedPort()}`;
    await withGateway(
      {
        targets: [{ url: dead }, { url: live.url }],
        retries: 1,
        health: { passive: { max_failures: 0 } },
      },
      async (gw) => {
        const big = 'x'.repeat(300_000);
        const bodies = ['order 0', 'order 1', big, big];
        for (const [i, body] of bodies.entries()) {
          // Content-Length, then chunked (no length: the gateway counts the body through its own stream).
          const chunked = i % 2 === 1;
          const res = await send(gw.url, '/post', {
            method: 'POST',
            body,
            headers: { 'content-type': 'text/plain', ...(chunked ? { 'transfer-encoding': 'chunked' } : {}) },
          });
          assert.equal(res.status, 200, `${i}: ${res.text.slice(0, 200)}`);
          assert.equal(res.text.length, body.length, `${i}: the body arrived whole`);
          assert.equal(res.text, body);
        }
        // Round robin starts with the dead target, and each retry takes the live one's turn: every POST went to the
        // dead
        // one first, and the live one saw each exactly once.
        assert.equal(live.seen.filter((s) => s.method === 'POST').length, 4);
        assert.equal(await metric(gw, 'tollgate_upstream_retries_total', 'service="svc",group=""'), 4);
      },
      [live],
    );
  },
);

test(
  'a GET whose connection the target drops before answering is retried on ' +
    'another target; a POST with a body, or a response already started, is not',
  async () => {
    const dropper = await startUpstream('dropper', (req: IncomingMessage, res: ServerResponse) => {
      if (req.url === '/partial') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('half of it');
        setTimeout(() => req.socket.destroy(), 50);
        return;
      }
      req.socket.destroy();
    });
    const live = await startUpstream('live');
    // Round robin starts with the first target listed: the one that drops the connection.
    await withGateway(
      { targets: [{ url: dropper.url }, { url: live.url }], retries: 1, health: { passive: { max_failures: 0 } } },
      async (gw) => {
        const get = await send(gw.url, '/get');
        assert.equal(get.status, 200, get.text);
        assert.equal(get.json().name, 'live');
        assert.equal(dropper.seen.filter((s) => s.url === '/get').length, 1);
        assert.equal(await metric(gw, 'tollgate_upstream_retries_total', 'service="svc",group=""'), 1);

        // The retry took the live target's turn, so the next request goes to the dropper again.
        const post = await send(gw.url, '/post', {
          method: 'POST',
          body: 'order 1',
          headers: { 'content-type': 'text/plain' },
        });
        assert.equal(post.status, 502, post.text);
        assert.equal(post.json().code, 'GW_ERR_BAD_GATEWAY');
        assert.equal(live.seen.filter((s) => s.method === 'POST').length, 0);

        assert.equal((await send(gw.url, '/get')).json().name, 'live'); // the live target's turn
        const partial = await send(gw.url, '/partial').catch((err: Error) => err);
        assert.ok(
          partial instanceof Error || partial.text === 'half of it',
          'the cut response reached the client as cut',
        );
        assert.equal(
          live.seen.filter((s) => s.url === '/partial').length,
          0,
          'a response already started is never retried',
        );
        assert.equal(await metric(gw, 'tollgate_upstream_retries_total', 'service="svc",group=""'), 1);
      },
      [dropper, live],
    );
  },
);

test(
  'a target ejected because it went away is back once an active ' +
    'check reaches it, so a rolling restart of two targets fails no GET',
  async () => {
    const a = await startUpstream('a');
    const b = await startUpstream('b');
    const reopen = (u: TestUpstream) => new Promise<void>((r) => u.server.listen(u.port, '127.0.0.1', () => r()));
    // The checks never call a target down (unhealthy_threshold), so only passive ejection takes one out, for a minute.
    await withGateway(
      {
        targets: [{ url: a.url }, { url: b.url }],
        retries: 1,
        health: {
          active: { ...FAST_CHECKS, unhealthy_threshold: 1000 },
          passive: { max_failures: 3, ejection_ms: 60000 },
        },
      },
      async (gw) => {
        const agent = keepAliveAgent();
        const ejections = (u: TestUpstream) =>
          metric(gw, 'tollgate_upstream_ejections_total', `service="svc",target="${u.url}"`);
        const drive = async (n: number) => {
          const names = [];
          for (let i = 0; i < n; i++) names.push(nameOf(await send(gw.url, '/', { agent })));
          return names;
        };
        await a.close();
        const whileDown = await drive(12);
        assert.deepEqual(new Set(whileDown), new Set(['b']), `a's requests were retried on b: ${whileDown}`);
        assert.equal(await ejections(a), 1);

        await reopen(a);
        const back = await eventually(async () => (await drive(2)).includes('a'), 2000, 20);
        assert.ok(back, 'a stayed out for its ejection_ms although the checks reached it');
        const health = JSON.stringify(await (await fetch(`${gw.adminUrl}/health`)).json());
        assert.equal(health.includes('"ejected":true'), false, health);

        // Now b restarts: its requests have a to go to.
        await b.close();
        const bDown = await drive(12);
        assert.deepEqual(new Set(bDown), new Set(['a']), `b down: ${bDown}`);
        agent.destroy();
      },
      [a, b],
    );
  },
);

test(
  'without active checks, a GET the one target left in refuses goes ' +
    'to a target passive ejection holds out; its answer ends that ejection',
  async () => {
    const a = await startUpstream('a');
    const b = await startUpstream('b');
    const reopen = (u: TestUpstream) => new Promise<void>((r) => u.server.listen(u.port, '127.0.0.1', () => r()));
    // Nothing but requests tells the gateway a target is back: a, ejected for a minute, is back up long before that.
    await withGateway(
      {
        targets: [{ url: a.url }, { url: b.url }],
        retries: 1,
        health: { passive: { max_failures: 3, ejection_ms: 60000 } },
      },
      async (gw) => {
        const agent = keepAliveAgent();
        const drive = async (n: number) => {
          const names = [];
          for (let i = 0; i < n; i++) names.push(nameOf(await send(gw.url, '/', { agent })));
          return names;
        };
        const ejected = async () => {
          const health = (await (await fetch(`${gw.adminUrl}/health`)).json()) as {
            targets: { id: string; ejected: boolean }[];
          }[];
          return Object.fromEntries(
            health.flatMap((s) => s.targets).map((t) => [t.id === a.url ? 'a' : 'b', t.ejected]),
          );
        };
        await a.close();
        assert.deepEqual(new Set(await drive(12)), new Set(['b']));
        await reopen(a);
        assert.deepEqual(await ejected(), { a: true, b: false });
        assert.deepEqual(new Set(await drive(6)), new Set(['b']), 'a sits out its ejection');

        // b restarts: max_ejected_percent (50) keeps it in, so its requests are refused and retried on a, which
        // answers.
        await b.close();
        const bDown = await drive(12);
        assert.deepEqual(new Set(bDown), new Set(['a']), `b down: ${bDown}`);
        // a answered a request sent after its ejection began: it is back, and b, now failing alone, could be ejected.
        assert.deepEqual(await ejected(), { a: false, b: true });
        // Only the retries made while a was still ejected went to it as a last resort: at least the first, at most b's
        // failures.
        const lastResorts = await metric(gw, 'tollgate_upstream_retries_last_resort_total', 'service="svc",group=""');
        assert.ok(lastResorts >= 1 && lastResorts <= 3, `last-resort retries: ${lastResorts}`);
        assert.equal(await metric(gw, 'tollgate_upstream_target_healthy', `service="svc",target="${a.url}"`), 1);
        agent.destroy();
      },
      [a, b],
    );
  },
);
