import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventually, service } from '../helpers/gateway.ts';
import { adminClient } from './admin.ts';
import { get, metricValue } from './client.ts';

import { TOKEN, admin, bService, gw, one, two, twoHealth } from './admin-api.fixture.ts';

test(
  'with a token configured the admin API answers 401 ' +
    'without it or with a wrong one, 200 with it; /healthz is open',
  async () => {
    const none = await get(`${gw.adminUrl}/services`);
    assert.equal(none.status, 401);
    assert.equal(none.json().code, 'GW_ERR_ADMIN_UNAUTHORIZED');
    assert.equal((await get(`${gw.adminUrl}/services`, { token: 'wrong-token-wrong-token-wrong' })).status, 401);
    assert.equal(
      (await get(`${gw.adminUrl}/services`, { headers: { authorization: TOKEN } })).status,
      401,
      'the token must come as a Bearer token',
    );
    assert.equal((await admin.services()).status, 200);
    assert.equal((await admin.healthz()).status, 200);
    const put = await adminClient(gw.adminUrl).putService(bService(['/b']));
    assert.equal(put.status, 401, 'an unauthenticated write is refused');
    assert.equal((await get(`${gw.url}/b`)).status, 404, 'and changed nothing');
  },
);

test('/readyz answers 200 while the gateway serves', async () => {
  assert.equal((await admin.readyz()).status, 200);
});

test('services put, get, list and delete round-trip and change routing live', async () => {
  const list = await admin.services();
  assert.deepEqual(
    list.json().map((s: { name: string }) => s.name),
    ['api'],
  );

  const put = await admin.putService(bService(['/b']));
  assert.equal(put.status, 200, put.text);
  assert.equal((await get(`${gw.url}/b/x`)).json().name, 'two', 'served by the new service right after the PUT');
  assert.equal(put.json().source, 'admin');
  const got = await admin.service('b');
  assert.equal(got.status, 200);
  assert.equal(got.json().name, 'b');
  assert.deepEqual(got.json().routes[0].paths, ['/b']);
  assert.deepEqual(
    (await admin.services())
      .json()
      .map((s: { name: string }) => s.name)
      .sort(),
    ['api', 'b'],
  );

  // The same service again changes nothing: no new version, and the reply names the serving one.
  const same = await admin.putService(bService(['/b']));
  assert.equal(same.status, 200, same.text);
  assert.equal(same.json().version, put.json().version);
  assert.equal(same.headers.etag, `"${put.json().version}"`);
  assert.equal(
    (await get(`${gw.adminUrl}/config/history?limit=1`, { token: TOKEN })).json()[0].version,
    put.json().version,
  );

  const replaced = await admin.putService(bService(['/b2']));
  assert.equal(replaced.status, 200, replaced.text);
  assert.equal((await get(`${gw.url}/b/x`)).status, 404);
  assert.equal((await get(`${gw.url}/b2/x`)).json().name, 'two');

  const del = await admin.deleteService('b');
  assert.equal(del.status, 200, del.text);
  assert.equal((await get(`${gw.url}/b2/x`)).status, 404);
  assert.equal((await admin.service('b')).status, 404);
  assert.equal((await admin.deleteService('b')).status, 404);
});

test('an invalid service PUT is rejected with the paths of its errors and changes nothing', async () => {
  const version = gw.manager.current().version;
  const r = await admin.putService({ name: 'bad', routes: [{ paths: ['~([a-'] }], upstream: { targets: [] } });
  assert.equal(r.status, 400, r.text);
  assert.equal(r.json().code, 'GW_ERR_CONFIG_INVALID');
  assert.match(r.text, /routes\/0\/paths\/0/);
  assert.match(r.text, /upstream\/targets/);
  assert.equal(gw.manager.current().version, version);
});

test('upstreams and /health show live target health', async () => {
  const put = await admin.putService({
    ...bService(['/b']),
    upstream: {
      targets: [{ url: two.url }],
      health: {
        active: { path: '/healthz', interval_ms: 50, timeout_ms: 1000, healthy_threshold: 1, unhealthy_threshold: 1 },
      },
    },
  });
  assert.ok(put.status < 300, put.text);
  /** The live state of b's one target, from GET /upstreams ({service, upstream, health}) or GET /health ({service,
   * targets}). */
  const targetOf = async (which: 'upstreams' | 'health') => {
    const list = (await admin[which]()).json() as {
      service: string;
      health?: { id: string; healthy: boolean }[];
      targets?: { id: string; healthy: boolean }[];
    }[];
    const entry = list.find((u) => u.service === 'b');
    return (entry?.health ?? entry?.targets)?.find((t) => t.id === two.url);
  };
  assert.equal((await targetOf('upstreams'))?.healthy, true);
  twoHealth.healthy = false;
  try {
    assert.ok(
      await eventually(async () => (await targetOf('upstreams'))?.healthy === false, 3000),
      'upstreams shows the target down',
    );
    assert.equal((await targetOf('health'))?.healthy, false, '/health agrees');
    assert.equal((await get(`${gw.url}/b`)).status, 503);
  } finally {
    twoHealth.healthy = true;
  }
  assert.ok(await eventually(async () => (await targetOf('upstreams'))?.healthy === true, 3000), 'and back up');
  await admin.deleteService('b');
});

test(
  'PUT /upstreams/:service swaps the targets of a service ' +
    'live, and GET /upstreams shows the upstream as configured',
  async () => {
    const r = await admin.putUpstream('api', { targets: [{ url: two.url }] });
    assert.equal(r.status, 200, r.text);
    assert.equal((await get(`${gw.url}/api/x`)).json().name, 'two');
    const api = (await admin.upstreams()).json().find((u: { service: string }) => u.service === 'api');
    assert.deepEqual(api.upstream, { targets: [{ url: two.url }] });
    assert.deepEqual(
      api.health.map((t: { id: string }) => t.id),
      [two.url],
    );
    assert.equal((await admin.putUpstream('api', { targets: [{ url: one.url }] })).status, 200);
    assert.equal((await get(`${gw.url}/api/x`)).json().name, 'one');
    assert.equal((await admin.putUpstream('nope', { targets: [{ url: one.url }] })).status, 404);
  },
);

test('config history lists versions newest first and a rollback restores an older routing', async () => {
  await admin.putService(bService(['/hist']));
  assert.equal((await get(`${gw.url}/hist`)).status, 200);
  const withB = gw.manager.current().version;
  await admin.deleteService('b');
  assert.equal((await get(`${gw.url}/hist`)).status, 404);

  const versions = (await admin.history()).json().map((v: { version: number }) => v.version);
  assert.deepEqual(
    versions,
    [...versions].sort((a: number, b: number) => b - a),
    'newest first',
  );
  assert.ok(versions.includes(withB));

  const rb = await admin.rollback(withB);
  assert.equal(rb.status, 200, rb.text);
  assert.equal((await get(`${gw.url}/hist`)).json().name, 'two', 'the older version routes again');
  const head = gw.manager.current();
  assert.ok(head.version > withB, 'a rollback is a new version');
  assert.equal(head.source, 'rollback');
  assert.equal((await admin.rollback(999999)).status, 404);
  await admin.deleteService('b');
});

test('the validate endpoint reports errors by path and applies nothing', async () => {
  const version = gw.manager.current().version;
  const unknown = await admin.validate({ services: [], bogus: 1 });
  assert.equal(unknown.status, 400, unknown.text);
  assert.equal(unknown.json().code, 'GW_ERR_CONFIG_INVALID');
  assert.deepEqual(
    unknown.json().errors.map((e: { path: string }) => e.path),
    ['/bogus'],
  );
  const semantic = await admin.validate({
    services: [service('x', [one.url], [{ paths: ['~([a-'] }]), service('x', [one.url], [{ paths: ['/y'] }])],
  });
  assert.equal(semantic.status, 400, semantic.text);
  const paths = semantic.json().errors.map((e: { path: string }) => e.path);
  assert.ok(paths.includes('/services/0/routes/0/paths/0') && paths.includes('/services/1/name'), semantic.text);
  const good = await admin.validate({ services: [bService(['/never'])] });
  assert.equal(good.status, 200, good.text);
  assert.deepEqual(good.json(), { valid: true });
  assert.equal((await get(`${gw.url}/never`)).status, 404);
  assert.equal(gw.manager.current().version, version);
});

test('the OpenAPI document is served and describes the services API', async () => {
  const r = await admin.openapi();
  assert.equal(r.status, 200);
  const doc = r.json();
  assert.match(String(doc.openapi ?? doc.swagger), /^3\./);
  assert.ok(
    Object.keys(doc.paths).some((p) => p.startsWith('/services')),
    Object.keys(doc.paths).join(' '),
  );
});

test('/metrics serves Prometheus text with request counts and the config version', async () => {
  await get(`${gw.url}/api/x`);
  const r = await admin.metrics();
  assert.equal(r.status, 200);
  assert.match(String(r.headers['content-type']), /^text\/plain/);
  assert.ok((metricValue(r.text, 'tollgate_requests_total', { service: 'api', status_class: '2xx' }) ?? 0) >= 1);
  assert.equal(metricValue(r.text, 'tollgate_config_version'), gw.manager.current().version);
});
