import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from '../../../control/config/load.ts';

const svc = (guard: unknown) => ({
  services: [
    { name: 'api', routes: [{ paths: ['/'] }], upstream: { targets: [{ url: 'http://127.0.0.1:9' }] }, guard },
  ],
});

test('guard: {} blocks SQL injection and XSS on path, query and the default headers, JSON and form bodies off', () => {
  const r = validateConfig(svc({}));
  assert.ok(r.ok, JSON.stringify(r));
  const g = r.config!.services[0].guard!;
  assert.equal(g.mode, 'block');
  assert.equal(g.sqli, true);
  assert.equal(g.xss, true);
  assert.deepEqual(g.inspect, {
    path: true,
    query: true,
    headers: ['user-agent', 'referer', 'cookie', 'x-*'],
    json_body: false,
    form_body: false,
  });
  assert.equal(g.max_inspect_bytes, 65536);
  assert.deepEqual(g.exclude_paths, []);
});

test('a service without guard has none', () => {
  const r = validateConfig(svc(undefined));
  assert.ok(r.ok);
  assert.equal(r.config!.services[0].guard, undefined);
});

test(
  'an unknown mode, a header name with a space, a tiny inspect ' +
    'limit, a relative exclude path and a body type without a slash are rejected with their paths',
  () => {
    const r = validateConfig(
      svc({
        mode: 'warn',
        inspect: { headers: ['user agent'] },
        max_inspect_bytes: 10,
        exclude_paths: ['admin'],
        allowed_body_types: ['application/json', 'json'],
        extra: 1,
      }),
    );
    assert.equal(r.ok, false);
    const paths = r.errors!.map((e) => e.path).join(',');
    for (const p of [
      '/services/0/guard/mode',
      '/services/0/guard/inspect/headers/0',
      '/services/0/guard/max_inspect_bytes',
      '/services/0/guard/exclude_paths/0',
      '/services/0/guard/allowed_body_types/1',
    ]) {
      assert.ok(paths.includes(p), `${p} in ${paths}`);
    }
  },
);

test('log_only with JSON bodies and a header prefix is accepted', () => {
  const r = validateConfig(
    svc({
      mode: 'log_only',
      inspect: { json_body: true, headers: ['X-Custom-*', 'Authorization'] },
      exclude_paths: ['/sql-console'],
    }),
  );
  assert.ok(r.ok, JSON.stringify(r));
  assert.equal(r.config!.services[0].guard!.inspect.json_body, true);
});
