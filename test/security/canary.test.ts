import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { keepAliveAgent, send, type SendOptions } from '../helpers/http-client.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { reload } from '../helpers/admin.ts';
import { eventsWhere } from '../helpers/events.ts';
import { metric } from '../helpers/metrics.ts';

async function withCanary(
  canary: Record<string, unknown>,
  fn: (gw: TestGateway, stable: TestUpstream, beta: TestUpstream) => Promise<void>,
) {
  const stable = await startUpstream('stable');
  const beta = await startUpstream('beta');
  const { group, ...rest } = canary;
  const gw = await startGateway({
    services: [
      {
        name: 'svc',
        routes: [{ name: 'r', paths: ['/'] }],
        upstream: { targets: [{ url: stable.url }] },
        canary: {
          ...rest,
          groups: [{ name: 'beta', weight: 10, upstream: { targets: [{ url: beta.url }] }, ...(group as object) }],
        },
      },
    ],
  });
  try {
    await fn(gw, stable, beta);
  } finally {
    await gw.close();
    await stable.close();
    await beta.close();
  }
}

const hits = (u: TestUpstream) => u.seen.filter((s) => s.url !== '/healthz').length;

async function nameFor(gw: TestGateway, opts: SendOptions = {}): Promise<string> {
  const r = await send(gw.url, '/x', opts);
  assert.equal(r.status, 200);
  return r.json().name;
}

test('without a sticky key, 2,000 requests over HTTP split 90/10 exactly (smooth weighted round robin)', async () => {
  await withCanary({ stable_weight: 90 }, async (gw, stable, beta) => {
    const agent = keepAliveAgent();
    try {
      for (let i = 0; i < 2000; i++) await send(gw.url, `/r${i}`, { agent });
    } finally {
      agent.destroy();
    }
    assert.equal(hits(stable), 1800);
    assert.equal(hits(beta), 200);
    // The stable group is the service's own upstream: group="", as in the breaker and retry metrics, so the two join.
    assert.equal(await metric(gw, 'tollgate_canary_requests_total', 'service="svc",group=""'), 1800);
    assert.equal(
      await metric(gw, 'tollgate_canary_requests_total', 'service="svc",group="stable"'),
      0,
      'no series named stable',
    );
    assert.equal(await metric(gw, 'tollgate_canary_requests_total', 'service="svc",group="beta"'), 200);
    const events = await eventsWhere(gw, (e) => e.target === beta.url, 200);
    assert.equal(events.length, 200, 'the access event names the canary target');
  });
});

test('a sticky cookie keeps each client in one group, and 400 clients split near the weights', async () => {
  await withCanary(
    { stable_weight: 50, sticky: { source: 'cookie', name: 'sid' }, group: { weight: 50 } },
    async (gw) => {
      const groups = new Map<string, number>();
      for (let c = 0; c < 400; c++) {
        const cookie = `theme=dark; sid=client-${c}`;
        const first = await nameFor(gw, { headers: { cookie } });
        for (let j = 0; j < 3; j++) assert.equal(await nameFor(gw, { headers: { cookie } }), first, `client ${c}`);
        groups.set(first, (groups.get(first) ?? 0) + 1);
      }
      // 400 hashed keys: expect 200 ± ~3σ (σ = 10).
      assert.ok(Math.abs((groups.get('beta') ?? 0) - 200) <= 35, JSON.stringify([...groups]));
    },
  );
});

test('a sticky header keeps each client in one group', async () => {
  await withCanary(
    { stable_weight: 50, sticky: { source: 'header', name: 'X-User' }, group: { weight: 50 } },
    async (gw) => {
      const seen = new Set<string>();
      for (let c = 0; c < 40; c++) {
        const headers = { 'x-user': `user-${c}` };
        const first = await nameFor(gw, { headers });
        seen.add(first);
        for (let j = 0; j < 3; j++) assert.equal(await nameFor(gw, { headers }), first);
      }
      assert.deepEqual([...seen].sort(), ['beta', 'stable'], 'both groups are used');
    },
  );
});

test(
  'X-Canary: always forces the canary, even at weight ' + '0; an operator-named header and a group name force too',
  async () => {
    await withCanary({ stable_weight: 100, group: { weight: 0 } }, async (gw, stable, beta) => {
      for (let i = 0; i < 20; i++) assert.equal(await nameFor(gw), 'stable');
      for (let i = 0; i < 20; i++) assert.equal(await nameFor(gw, { headers: { 'x-canary': 'always' } }), 'beta');
      assert.equal(await nameFor(gw, { headers: { 'x-canary': 'beta' } }), 'beta');
      assert.equal(await nameFor(gw, { headers: { 'x-canary': 'nope' } }), 'stable', 'an unknown value is ignored');
      assert.equal(hits(beta), 21);
      assert.equal(hits(stable), 21);
    });
    await withCanary(
      { stable_weight: 0, force_header: { name: 'X-Release', value: 'old', group: 'stable' }, group: { weight: 1 } },
      async (gw) => {
        assert.equal(await nameFor(gw), 'beta');
        assert.equal(await nameFor(gw, { headers: { 'x-release': 'old' } }), 'stable');
        assert.equal(
          await nameFor(gw, { headers: { 'x-canary': 'always' } }),
          'beta',
          'the default header no longer applies',
        );
      },
    );
  },
);

test(
  'each group has its own breaker: a failing canary opens its ' +
    'circuit while stable keeps serving, and a reload keeps it open',
  async () => {
    const stable = await startUpstream('stable');
    const beta = await startUpstream('beta', (req, res) => {
      req.resume();
      res.writeHead(500).end('boom');
    });
    const gw = await startGateway({
      services: [
        {
          name: 'svc',
          routes: [{ name: 'r', paths: ['/'] }],
          upstream: { targets: [{ url: stable.url }] },
          canary: {
            groups: [
              {
                name: 'beta',
                weight: 0,
                upstream: {
                  targets: [{ url: beta.url }],
                  health: { passive: { max_failures: 0 } },
                  breaker: { enabled: true, min_requests: 3, error_ratio: 0.5, open_ms: 60000 },
                },
              },
            ],
          },
        },
      ],
    });
    try {
      const forced = { headers: { 'x-canary': 'always' } };
      for (let i = 0; i < 3; i++) assert.equal((await send(gw.url, '/', forced)).status, 500);
      const open = await send(gw.url, '/', forced);
      assert.equal(open.json().code, 'GW_ERR_CIRCUIT_OPEN');
      assert.equal((await send(gw.url, '/')).status, 200, 'stable is unaffected');
      assert.equal(await metric(gw, 'tollgate_upstream_breaker_state', 'service="svc",group="beta"'), 1);
      await reload(gw, (c) => {
        c.services[0].canary.stable_weight = 99;
      });
      assert.equal(
        (await send(gw.url, '/', forced)).json().code,
        'GW_ERR_CIRCUIT_OPEN',
        'the unchanged group kept its pool and breaker',
      );
      assert.equal(hits(beta), 3);
      assert.equal(
        await metric(gw, 'tollgate_upstream_target_healthy', `service="svc/beta",target="${beta.url}"`),
        1,
        "the group's pool has its own health series",
      );
      const health = (await (await fetch(`${gw.adminUrl}/health`)).json()) as {
        service: string;
        targets: { id: string }[];
      }[];
      assert.deepEqual(health.map((h) => [h.service, h.targets.map((t) => t.id)]).sort(), [
        ['svc', [stable.url]],
        ['svc/beta', [beta.url]],
      ]);
    } finally {
      await gw.close();
      await stable.close();
      await beta.close();
    }
  },
);
