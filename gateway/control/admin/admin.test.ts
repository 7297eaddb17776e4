import { test } from 'node:test';
import assert from 'node:assert/strict';
import type {
  ApplyResult,
  ConfigEdit,
  ConfigError,
  ConfigSource,
  ConfigVersion,
  ConfigVersionSummary,
  ControlPlane,
  EditResult,
  UpstreamHealth,
} from '../types.ts';
import { startAdmin } from './server.ts';
import { slices } from './routes/ops.ts';
import { rawRequest } from '../../../test/helpers/raw-http.ts';

/**
 * A minimal in-memory control plane: the admin API is what is under test.
 * Its validator knows just enough of the config shape to produce path errors;
 * the integration suite runs the admin API on the real ConfigManager.
 */
class MemoryControlPlane implements ControlPlane {
  versions: ConfigVersion[] = [];
  isReady = true;

  constructor(config: Record<string, unknown>) {
    this.#push(config, 'file', 'initial');
  }

  current(): ConfigVersion {
    return this.versions.at(-1)!;
  }

  async validate(raw: unknown): Promise<ConfigError[]> {
    return this.check(raw);
  }

  check(raw: unknown): ConfigError[] {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
      return [{ path: '', message: 'must be an object' }];
    const services = (raw as { services?: unknown }).services ?? [];
    if (!Array.isArray(services)) return [{ path: '/services', message: 'must be an array' }];
    const errors: ConfigError[] = [];
    services.forEach((s: { name?: unknown; upstream?: { targets?: Array<{ url?: unknown }> } }, i) => {
      if (typeof s.name !== 'string') errors.push({ path: `/services/${i}/name`, message: 'must be a string' });
      (s.upstream?.targets ?? []).forEach((t, j) => {
        if (typeof t.url !== 'string' || !/^https?:\/\//.test(t.url)) {
          errors.push({ path: `/services/${i}/upstream/targets/${j}/url`, message: 'must be an http(s) origin' });
        }
      });
    });
    return errors;
  }

  async apply(raw: unknown, source: ConfigSource, note: string): Promise<ApplyResult> {
    const errors = this.check(raw);
    if (errors.length > 0) return { ok: false, errors };
    return { ok: true, version: this.#push(raw as Record<string, unknown>, source, note) };
  }

  async edit(change: ConfigEdit, note: string, ifMatch?: number[]): Promise<EditResult> {
    if (ifMatch && !ifMatch.includes(this.current().version))
      return { ok: false, versionMismatch: { serving: this.current().version } };
    const next = change(this.current().config);
    return 'notFound' in next ? { ok: false, notFound: next.notFound } : this.apply(next.config, 'admin', note);
  }

  async history(limit: number): Promise<ConfigVersionSummary[]> {
    return this.versions
      .slice()
      .reverse()
      .slice(0, limit)
      .map(({ config: _c, ...s }) => s);
  }

  async rollback(version: number, ifMatch?: number[]): Promise<EditResult | undefined> {
    const v = this.versions.find((x) => x.version === version);
    if (v && ifMatch && !ifMatch.includes(this.current().version))
      return { ok: false, versionMismatch: { serving: this.current().version } };
    return v && this.apply(v.config, 'rollback', `rollback to ${version}`);
  }

  health(): UpstreamHealth[] {
    return [
      {
        service: 'api',
        targets: [{ id: 'http://127.0.0.1:9001', weight: 1, healthy: true, ejected: false, active: 2 }],
      },
    ];
  }

  metricsText = 'tollgate_up 1\n';

  async metrics() {
    return { contentType: 'text/plain; version=0.0.4; charset=utf-8', body: this.metricsText };
  }

  ready(): boolean {
    return this.isReady;
  }

  #push(config: Record<string, unknown>, source: ConfigSource, note: string): ConfigVersionSummary {
    const v: ConfigVersion = {
      version: this.versions.length + 1,
      config,
      source,
      createdAt: new Date().toISOString(),
      fileHash: 'f'.repeat(64),
      note,
    };
    this.versions.push(v);
    const { config: _c, ...summary } = v;
    return summary;
  }
}

const apiService = {
  name: 'api',
  routes: [{ path: '/api' }],
  upstream: { targets: [{ url: 'http://127.0.0.1:9001' }] },
};
const TOKEN = 'a-long-enough-admin-token';

async function withAdmin(
  fn: (call: Call, control: MemoryControlPlane) => Promise<void>,
  token?: string,
): Promise<void> {
  const control = new MemoryControlPlane({ services: [apiService] });
  const admin = await startAdmin({ host: '127.0.0.1', port: 0, token, control });
  const base = `http://127.0.0.1:${admin.port}`;
  const call: Call = async (method, path, init = {}) => {
    const headers: Record<string, string> = { ...init.headers };
    if (token && init.auth !== false) headers.authorization ??= `Bearer ${token}`;
    let body = init.raw;
    if (init.json !== undefined) body = JSON.stringify(init.json);
    if (body !== undefined) headers['content-type'] ??= 'application/json';
    const res = await fetch(base + path, { method, headers, body });
    const text = await res.text();
    const type = res.headers.get('content-type') ?? '';
    return {
      status: res.status,
      headers: res.headers,
      text,
      body: type.includes('json') ? JSON.parse(text) : undefined,
    };
  };
  try {
    await fn(call, control);
  } finally {
    await admin.close();
  }
}

type Call = (
  method: string,
  path: string,
  init?: { json?: unknown; raw?: string; headers?: Record<string, string>; auth?: false },
) => Promise<{ status: number; headers: Headers; text: string; body: any }>;

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

test('bodies carrying __proto__, constructor or prototype keys are rejected', () =>
  withAdmin(async (call, control) => {
    for (const raw of [
      '{"services":[],"__proto__":{"polluted":true}}',
      '{"services":[{"name":"x","constructor":{"prototype":{"polluted":true}}}]}',
      '{"services":[{"name":"x","upstream":{"prototype":1}}]}',
    ]) {
      const res = await call('PUT', '/config', { raw });
      assert.equal(res.status, 400, raw);
      assert.equal(res.body.code, 'GW_ERR_BAD_REQUEST');
    }
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(control.current().version, 1);
  }));

test('malformed JSON gets 400 naming the problem', () =>
  withAdmin(async (call) => {
    const res = await call('PUT', '/config', { raw: '{"services": [' });
    assert.equal(res.status, 400);
    assert.equal(res.body.code, 'GW_ERR_BAD_REQUEST');
    assert.match(res.body.message, /malformed JSON/);
  }));

test('a body that is not JSON gets 415, text/plain included', () =>
  withAdmin(async (call, control) => {
    for (const type of ['text/yaml', 'text/plain', 'application/x-www-form-urlencoded']) {
      const res = await call('PUT', '/config', { raw: 'services: []', headers: { 'content-type': type } });
      assert.equal(res.status, 415, type);
      assert.equal(res.body.code, 'GW_ERR_UNSUPPORTED_MEDIA_TYPE', type);
      assert.match(res.body.message, new RegExp(`Content-Type "${type}" is not accepted`));
    }
    assert.equal(control.current().version, 1);
  }));

test('a known path asked with a method it does not take gets 405 with Allow; an unknown path 404', () =>
  withAdmin(async (call) => {
    const post = await call('POST', '/services/api', { json: { routes: [] } });
    assert.equal(post.status, 405);
    assert.equal(post.body.code, 'GW_ERR_METHOD_NOT_ALLOWED');
    assert.equal(post.headers.get('allow'), 'DELETE, GET, HEAD, PUT');
    assert.match(post.body.message, /POST is not allowed on \/services\/api/);
    const config = await call('DELETE', '/config');
    assert.equal(config.status, 405);
    assert.equal(config.headers.get('allow'), 'GET, HEAD, PUT');
    assert.equal((await call('GET', '/services/api/extra')).status, 404);
    assert.equal((await call('GET', '/nothing')).body.code, 'GW_ERR_NOT_FOUND');
  }));

test('a body over 8 MiB gets 413 naming the limit; one under it is read', () =>
  withAdmin(async (call) => {
    const res = await call('PUT', '/config', { json: { services: [], pad: 'x'.repeat(8 * 1024 * 1024) } });
    assert.equal(res.status, 413);
    assert.equal(res.body.code, 'GW_ERR_BODY_TOO_LARGE');
    assert.equal(res.body.message, 'request body exceeds 8388608 bytes (admin.max_body_bytes)');
    // Read whole and handed to the control plane (this test's stand-in takes any config).
    const under = await call('PUT', '/config', { json: { services: [], pad: 'x'.repeat(7 * 1024 * 1024) } });
    assert.equal(under.status, 200);
  }));

test('admin.max_body_bytes sets the limit', async () => {
  const admin = await startAdmin({
    host: '127.0.0.1',
    port: 0,
    control: new MemoryControlPlane({ services: [] }),
    maxBodyBytes: 2048,
  });
  try {
    const put = (n: number) =>
      fetch(`http://127.0.0.1:${admin.port}/config`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ services: [], pad: 'x'.repeat(n) }),
      });
    const big = await put(3000);
    assert.equal(big.status, 413);
    assert.match(((await big.json()) as { message: string }).message, /exceeds 2048 bytes/);
    assert.notEqual((await put(1000)).status, 413);
  } finally {
    await admin.close();
  }
});

test("errors carry the client's X-Request-Id, or a generated one", () =>
  withAdmin(async (call) => {
    const given = await call('GET', '/services/nope', { headers: { 'x-request-id': 'req-123' } });
    assert.equal(given.body.request_id, 'req-123');
    assert.equal(given.headers.get('x-request-id'), 'req-123');
    const generated = await call('GET', '/services/nope', { headers: { 'x-request-id': 'bad id\twith tab' } });
    assert.match(generated.body.request_id, /^[0-9a-f-]{36}$/);
  }));

test('CONNECT gets a JSON 501 and the connection closes, as on the proxy listener', async () => {
  const admin = await startAdmin({ host: '127.0.0.1', port: 0, control: new MemoryControlPlane({ services: [] }) });
  try {
    const res = await rawRequest(
      admin.port,
      'CONNECT a.test:443 HTTP/1.1\r\nHost: a.test:443\r\nX-Request-Id: admin-connect\r\n\r\n',
    );
    assert.ok(res.closed, 'the connection stayed open');
    assert.equal(res.status, 501, res.text);
    assert.match(res.text, /\r\nx-request-id: admin-connect\r\n/i);
    assert.equal(JSON.parse(res.text.slice(res.text.indexOf('\r\n\r\n') + 4)).code, 'GW_ERR_METHOD_NOT_SUPPORTED');
  } finally {
    await admin.close();
  }
});
