// Admin writes at once and against versions: parallel edits and app creations, If-Match, the body limit.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { service, startGateway } from '../helpers/gateway.ts';
import { call, get } from './client.ts';

import { TOKEN, admin, gw, one, two } from './admin-api.fixture.ts';

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
