import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConfigError, ConfigVersionSummary } from '../types.ts';
import { slices } from './routes/ops.ts';

import { TOKEN, apiService, withAdmin } from './admin.fixture.ts';

test('requires the bearer token on every route but the probes when a token is set', () =>
  withAdmin(async (call) => {
    const missing = await call('GET', '/config', { auth: false });
    assert.equal(missing.status, 401);
    assert.equal(missing.body.code, 'GW_ERR_ADMIN_UNAUTHORIZED');
    assert.equal(typeof missing.body.request_id, 'string');
    assert.match(missing.headers.get('www-authenticate') ?? '', /^Bearer/);

    const wrong = await call('GET', '/config', { headers: { authorization: 'Bearer not-the-token' } });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.code, 'GW_ERR_ADMIN_UNAUTHORIZED');

    const unknownRoute = await call('GET', '/no-such-route', { auth: false });
    assert.equal(unknownRoute.status, 401, 'a 404 would reveal which routes exist');

    const ok = await call('GET', '/config');
    assert.equal(ok.status, 200);
    assert.equal(ok.body.version, 1);

    assert.equal((await call('GET', '/healthz', { auth: false })).status, 200);
    assert.equal((await call('GET', '/readyz', { auth: false })).status, 200);
  }, TOKEN));

test('healthz answers ok and readyz follows control.ready()', () =>
  withAdmin(async (call, control) => {
    assert.deepEqual((await call('GET', '/healthz')).body, { status: 'ok' });
    control.isReady = false;
    const notReady = await call('GET', '/readyz');
    assert.equal(notReady.status, 503);
    assert.deepEqual(notReady.body, { status: 'not_ready' });
  }));

test("metrics are served as text with the control plane's content type", () =>
  withAdmin(async (call) => {
    const res = await call('GET', '/metrics');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    assert.equal(res.text, 'tollgate_up 1\n');
  }));

test('a text is sliced whole and never inside a surrogate pair', () => {
  const text = `${'a'.repeat(9)}😀b${'c'.repeat(25)}😀`;
  const parts = [...slices(text, 10)];
  assert.equal(parts.join(''), text);
  assert.deepEqual(
    parts.map((p) => p.length),
    [9, 10, 10, 10],
  );
  for (const p of parts) assert.equal(Buffer.from(p).toString(), p, 'each slice encodes to UTF-8 on its own');
});

test('a large metrics text is sent whole, in slices, with non-ASCII label values intact', () =>
  withAdmin(async (call, control) => {
    const lines = Array.from(
      { length: 40000 },
      (_, i) => `tollgate_requests_total{service="s${i}",route="räksmörgås-${i}"} ${i}`,
    );
    control.metricsText = `${lines.join('\n')}\n`;
    assert.ok(control.metricsText.length > 1024 * 1024);
    const res = await call('GET', '/metrics');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    assert.equal(res.headers.get('transfer-encoding'), 'chunked');
    assert.equal(res.text, control.metricsText);
  }));

test('a service survives a put, get, list and delete round trip', () =>
  withAdmin(async (call, control) => {
    const web = { routes: [{ path: '/web' }], upstream: { targets: [{ url: 'http://127.0.0.1:9002' }] } };
    const put = await call('PUT', '/services/web', { json: web });
    assert.equal(put.status, 200);
    assert.equal(put.body.version, 2);
    assert.equal(put.body.source, 'admin');
    assert.equal(put.body.note, 'PUT /services/web');

    assert.deepEqual((await call('GET', '/services/web')).body, { ...web, name: 'web' });
    assert.deepEqual(
      (await call('GET', '/services')).body.map((s: { name: string }) => s.name),
      ['api', 'web'],
    );

    const replaced = await call('PUT', '/services/web', { json: { ...web, name: 'web', routes: [{ path: '/w' }] } });
    assert.equal(replaced.status, 200);
    assert.deepEqual((await call('GET', '/services/web')).body.routes, [{ path: '/w' }]);
    assert.equal((control.current().config.services as unknown[]).length, 2);

    const del = await call('DELETE', '/services/web');
    assert.equal(del.status, 200);
    assert.equal(del.body.version, 4);
    const gone = await call('GET', '/services/web');
    assert.equal(gone.status, 404);
    assert.equal(gone.body.code, 'GW_ERR_NOT_FOUND');
    assert.equal((await call('DELETE', '/services/web')).status, 404);
  }));

test('a service whose body names another service is rejected', () =>
  withAdmin(async (call) => {
    const res = await call('PUT', '/services/web', { json: { ...apiService, name: 'api' } });
    assert.equal(res.status, 400);
    assert.equal(res.body.code, 'GW_ERR_BAD_REQUEST');
    assert.deepEqual(
      res.body.errors.map((e: ConfigError) => e.path),
      ['/name'],
    );
  }));

test('an invalid edit returns every error with its path and keeps the serving config', () =>
  withAdmin(async (call, control) => {
    const bad = { ...apiService, upstream: { targets: [{ url: 'http://ok:1' }, { url: 'ftp://nope' }] } };
    const res = await call('PUT', '/services/api', { json: bad });
    assert.equal(res.status, 400);
    assert.equal(res.body.code, 'GW_ERR_CONFIG_INVALID');
    assert.deepEqual(res.body.errors, [
      { path: '/services/0/upstream/targets/1/url', message: 'must be an http(s) origin' },
    ]);
    assert.equal(typeof res.body.request_id, 'string');
    assert.equal(control.current().version, 1);

    const validate = await call('POST', '/config/validate', { json: { services: [{ name: 7 }] } });
    assert.equal(validate.status, 400);
    assert.deepEqual(
      validate.body.errors.map((e: ConfigError) => e.path),
      ['/services/0/name'],
    );
    assert.deepEqual((await call('POST', '/config/validate', { json: { services: [apiService] } })).body, {
      valid: true,
    });
  }));

test('an edit other nodes kept beating gets 409 GW_ERR_CONFIG_CONFLICT with the serving ETag', () =>
  withAdmin(async (call, control) => {
    control.edit = async () => ({ ok: false, conflict: { serving: 7, attempts: 5 } });
    const res = await call('PUT', '/services/api', { json: apiService });
    assert.equal(res.status, 409);
    assert.equal(res.body.code, 'GW_ERR_CONFIG_CONFLICT');
    assert.match(res.body.message, /5 tries; nothing was changed: retry/);
    assert.equal(res.headers.get('etag'), '"7"');
  }));

test('put /config applies a whole config and history lists it newest first', () =>
  withAdmin(async (call) => {
    const put = await call('PUT', '/config', { json: { services: [] } });
    assert.equal(put.status, 200);
    assert.equal(put.body.version, 2);
    const current = await call('GET', '/config');
    assert.deepEqual(current.body.config, { services: [] });
    assert.equal(current.body.source, 'admin');
    const history = await call('GET', '/config/history?limit=1');
    assert.deepEqual(
      history.body.map((v: ConfigVersionSummary) => v.version),
      [2],
    );
    assert.equal('config' in history.body[0], false);
    assert.equal((await call('GET', '/config/history?limit=0')).status, 400);
  }));

test('rollback re-applies an earlier version and 404s an unknown one', () =>
  withAdmin(async (call, control) => {
    await call('DELETE', '/services/api');
    const back = await call('POST', '/config/rollback', { json: { version: 1 } });
    assert.equal(back.status, 200);
    assert.equal(back.body.version, 3);
    assert.equal(back.body.source, 'rollback');
    assert.deepEqual(control.current().config, { services: [apiService] });

    const unknown = await call('POST', '/config/rollback', { json: { version: 99 } });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.code, 'GW_ERR_NOT_FOUND');
    const invalid = await call('POST', '/config/rollback', { json: { version: 'latest' } });
    assert.equal(invalid.status, 400);
    assert.equal(invalid.body.code, 'GW_ERR_BAD_REQUEST');
  }));

test('upstreams show the configured upstream beside live health and can be replaced', () =>
  withAdmin(async (call, control) => {
    const list = await call('GET', '/upstreams');
    assert.deepEqual(list.body, [
      { service: 'api', upstream: apiService.upstream, health: control.health()[0].targets },
    ]);
    const upstream = { balancer: 'random', targets: [{ url: 'http://127.0.0.1:9009' }] };
    const put = await call('PUT', '/upstreams/api', { json: upstream });
    assert.equal(put.status, 200);
    assert.deepEqual((await call('GET', '/upstreams/api')).body.upstream, upstream);
    assert.deepEqual((await call('GET', '/services/api')).body.routes, apiService.routes);
    assert.equal((await call('PUT', '/upstreams/nope', { json: upstream })).status, 404);
    assert.deepEqual((await call('GET', '/health')).body, control.health());
  }));

test('openapi.json documents every admin path', () =>
  withAdmin(async (call) => {
    const res = await call('GET', '/openapi.json');
    assert.equal(res.status, 200);
    assert.equal(res.body.openapi, '3.1.0');
    const paths = Object.keys(res.body.paths);
    for (const p of [
      '/healthz',
      '/readyz',
      '/metrics',
      '/config',
      '/config/validate',
      '/config/history',
      '/config/rollback',
      '/services',
      '/services/{name}',
      '/upstreams',
      '/upstreams/{service}',
      '/health',
    ]) {
      assert.ok(paths.includes(p), `${p} missing from ${paths.join(', ')}`);
    }
    assert.ok(res.body.paths['/services/{name}'].put.requestBody, 'request bodies come from the route schemas');
    let withBody = 0;
    for (const [path, ops] of Object.entries(
      res.body.paths as Record<string, Record<string, { requestBody?: unknown; responses: Record<string, unknown> }>>,
    )) {
      for (const [method, op] of Object.entries(ops)) {
        if (!op.requestBody) continue;
        withBody++;
        for (const status of ['413', '415'])
          assert.ok(op.responses[status], `${method} ${path} does not document ${status}`);
      }
    }
    assert.ok(withBody >= 5, `only ${withBody} operations take a body`);
  }, TOKEN));

test('a version of the history comes with its whole config; one not in it is 404', () =>
  withAdmin(async (call) => {
    const first = await call('GET', '/config/history/1');
    assert.equal(first.status, 200);
    assert.equal(first.body.version, 1);
    assert.ok(Array.isArray(first.body.config.services), 'the config that version applied');
    const missing = await call('GET', '/config/history/999');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.code, 'GW_ERR_NOT_FOUND');
    assert.equal((await call('GET', '/config/history/0')).status, 400, 'versions start at 1');
  }));
