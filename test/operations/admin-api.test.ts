import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { eventually, service, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { adminClient, type AdminClient } from './admin.ts';
import { call, get, metricValue } from './client.ts';

const TOKEN = 'admin-api-test-token-0123456789';

let one: TestUpstream;
let two: TestUpstream;
let twoHealthy = true;
let gw: TestGateway;
let admin: AdminClient;

before(async () => {
  one = await startUpstream('one');
  two = await startUpstream('two', undefined, { healthy: () => twoHealthy });
  gw = await startGateway({
    admin: { token: TOKEN },
    services: [service('api', [one.url], [{ paths: ['/api'] }])],
  });
  admin = adminClient(gw.adminUrl, TOKEN);
});
after(async () => {
  await gw?.close();
  await Promise.all([one?.close(), two?.close()]);
});

const bService = (paths: string[]) => service('b', [two.url], [{ paths }]);

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
  twoHealthy = false;
  try {
    assert.ok(
      await eventually(async () => (await targetOf('upstreams'))?.healthy === false, 3000),
      'upstreams shows the target down',
    );
    assert.equal((await targetOf('health'))?.healthy, false, '/health agrees');
    assert.equal((await get(`${gw.url}/b`)).status, 503);
  } finally {
    twoHealthy = true;
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

test(
  'parallel edits compose: six concurrent service ' + 'PUTs all land, then concurrent upstream PUTs and DELETEs',
  async () => {
    // What broke: each edit read the serving config before queueing its apply, so 6 parallel PUTs left only one
    // service.
    const names = ['s1', 's2', 's3', 's4', 's5', 's6'];
    const before = gw.manager.current().version;
    const puts = await Promise.all(names.map((n) => admin.putService(service(n, [one.url], [{ paths: [`/${n}`] }]))));
    for (const r of puts) assert.equal(r.status, 200, r.text);
    assert.deepEqual(
      puts.map((r) => r.json().version).sort((a, b) => a - b),
      names.map((_, i) => before + i + 1),
      'one version each',
    );
    const listed = (await admin.services()).json().map((s: { name: string }) => s.name);
    for (const n of names) assert.ok(listed.includes(n), `${n} missing from ${listed}`);
    for (const n of names) assert.equal((await get(`${gw.url}/${n}/x`)).json().name, 'one', n);

    const mixed = await Promise.all([
      ...names.slice(0, 3).map((n) => admin.putUpstream(n, { targets: [{ url: two.url }] })),
      ...names.slice(3).map((n) => admin.deleteService(n)),
    ]);
    for (const r of mixed) assert.equal(r.status, 200, r.text);
    const after = (await admin.services()).json().map((s: { name: string }) => s.name);
    assert.deepEqual(
      names.filter((n) => after.includes(n)),
      ['s1', 's2', 's3'],
    );
    for (const n of names.slice(0, 3)) assert.equal((await get(`${gw.url}/${n}/x`)).json().name, 'two', n);
    await Promise.all(names.slice(0, 3).map((n) => admin.deleteService(n)));
  },
);

test('parallel app creations all land', async () => {
  const created = await Promise.all(
    [1, 2, 3, 4, 5, 6].map((i) =>
      call('POST', `${gw.adminUrl}/apps`, { token: TOKEN, body: { name: `parallel ${i}` } }),
    ),
  );
  for (const r of created) assert.equal(r.status, 201, r.text);
  const ids = new Set((await get(`${gw.adminUrl}/apps`, { token: TOKEN })).json().map((a: { id: string }) => a.id));
  for (const r of created) assert.ok(ids.has(r.json().app.id));
  await Promise.all(created.map((r) => call('DELETE', `${gw.adminUrl}/apps/${r.json().app.id}`, { token: TOKEN })));
});

test(
  'GETs carry the config version as ETag; a write with a ' +
    'stale If-Match gets 412 with the serving ETag and changes nothing',
  async () => {
    const etag = (r: { headers: Record<string, unknown> }) => String(r.headers.etag);
    const named = (name: string, paths: string[]) => service(name, [two.url], [{ paths }]);
    const read = await admin.services();
    const serving = gw.manager.current().version;
    assert.equal(etag(read), `"${serving}"`);
    for (const r of [
      await admin.config(),
      await admin.service('api'),
      await admin.upstreams(),
      await get(`${gw.adminUrl}/upstreams/api`, { token: TOKEN }),
    ]) {
      assert.equal(etag(r), `"${serving}"`);
    }
    const withEtag = (method: string, path: string, ifMatch: string, body?: unknown) =>
      call(method, `${gw.adminUrl}${path}`, { token: TOKEN, body, headers: { 'if-match': ifMatch } });

    const put = await withEtag('PUT', '/services/c', etag(read), named('c', ['/c']));
    assert.equal(put.status, 200, put.text);
    assert.equal(etag(put), `"${serving + 1}"`, "the write answers with the new version's ETag");

    const stale = etag(read);
    const config = (await admin.config()).json().config;
    const attempts = [
      await withEtag('PUT', '/services/d', stale, named('d', ['/d'])),
      await withEtag('DELETE', '/services/c', stale),
      await withEtag('PUT', '/upstreams/c', stale, { targets: [{ url: one.url }] }),
      await withEtag('PUT', '/config', stale, { ...config, services: [] }),
      await withEtag('POST', '/config/rollback', stale, { version: serving }),
      await withEtag('PUT', '/services/c', `W/"${serving + 1}"`, named('c', ['/weak'])),
    ];
    for (const r of attempts) {
      assert.equal(r.status, 412, r.text);
      assert.equal(r.json().code, 'GW_ERR_CONFIG_VERSION_MISMATCH');
      assert.equal(etag(r), `"${serving + 1}"`, 'the 412 names the serving version');
    }
    assert.equal(gw.manager.current().version, serving + 1, 'nothing was applied');
    assert.equal((await admin.service('d')).status, 404);
    assert.equal((await get(`${gw.url}/c/x`)).json().name, 'two', 'c is unchanged');

    const bad = await withEtag('PUT', '/services/c', String(serving + 1), named('c', ['/c']));
    assert.equal(bad.status, 400, bad.text);
    assert.match(bad.json().message, /If-Match must list quoted ETags/);
    assert.equal(
      (await withEtag('DELETE', '/services/c', `"1", ${etag(put)}`)).status,
      200,
      'any listed version may match',
    );
    assert.equal((await withEtag('PUT', '/services/c', '*', named('c', ['/c']))).status, 200, '* matches any version');
    await admin.deleteService('c');
  },
);

test(
  "admin.max_body_bytes is the admin API's body limit: a " + 'whole config over it gets 413, one under it is applied',
  async () => {
    const small = await startGateway({
      admin: { max_body_bytes: 4096 },
      services: [service('api', [one.url], [{ paths: ['/api'] }])],
    });
    try {
      const many = (n: number) => ({
        services: Array.from({ length: n }, (_, i) => service(`s${i}`, [one.url], [{ paths: [`/s${i}`] }])),
      });
      const over = await call('PUT', `${small.adminUrl}/config`, { body: many(40) });
      assert.equal(over.status, 413, over.text);
      assert.match(over.json().message, /exceeds 4096 bytes \(admin\.max_body_bytes\)/);
      const under = await call('PUT', `${small.adminUrl}/config`, { body: many(2) });
      assert.equal(under.status, 200, under.text);
    } finally {
      await small.close();
    }
  },
);
