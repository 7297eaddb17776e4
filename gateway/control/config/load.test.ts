import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseConfigText, validateConfig } from './load.ts';
import { checkSemantics } from './semantics.ts';
import { applyEnvOverrides, unknownEnvVariables } from './env.ts';

const ok = (raw: unknown) => {
  const r = validateConfig(raw, {});
  if (!r.ok) assert.fail(JSON.stringify(r.errors));
  return r.config;
};
const errorsOf = (raw: unknown) => {
  const r = validateConfig(raw, {});
  assert.equal(r.ok, false, 'expected the config to be rejected');
  return r.ok ? [] : r.errors;
};

test('accepts the issue example config as written and fills defaults', () => {
  const parsed = parseConfigText(readFileSync(new URL('../../examples/quickstart.yaml', import.meta.url), 'utf8'));
  assert.ok(parsed.ok);
  const c = ok(parsed.raw);
  assert.equal(c.services[0].upstream.targets[1].weight, 2);
  assert.equal(c.services[0].upstream.targets[0].weight, 1);
  assert.equal(c.services[0].upstream.health.active?.interval_ms, 500);
  assert.equal(c.services[0].upstream.pool.connections, 128);
  assert.equal(c.workers, 1);
});

test('names the path of every bad field at once', () => {
  const errs = errorsOf({
    proxy: { listen: 'nope', colour: 'blue' },
    services: [
      {
        name: 'a',
        routes: [{ paths: ['/x'], methods: ['get'] }],
        upstream: { balancer: 'fastest', targets: [{ url: 'ftp://x' }] },
      },
    ],
  });
  const paths = errs.map((e) => e.path);
  for (const p of [
    '/proxy/listen',
    '/proxy/colour',
    '/services/0/routes/0/methods/0',
    '/services/0/upstream/balancer',
    '/services/0/upstream/targets/0/url',
  ]) {
    assert.ok(paths.includes(p), `missing ${p} in ${JSON.stringify(errs)}`);
  }
});

test('rejects duplicate names, bad regexes, missing targets and hash keys without a name', () => {
  const svc = (name: string, extra: Record<string, unknown> = {}) => ({
    name,
    routes: [{ paths: ['/'] }],
    upstream: { targets: [{ url: 'http://127.0.0.1:1' }] },
    ...extra,
  });
  const errs = errorsOf({
    services: [
      svc('a'),
      svc('a'),
      {
        name: 'b',
        routes: [{ paths: ['~(['], rewrite: { regex: '(', replacement: '' } }],
        upstream: { targets: [], hash_on: { source: 'header' } },
      },
    ],
  });
  const byPath = Object.fromEntries(errs.map((e) => [e.path, e.message]));
  assert.match(byPath['/services/1/name'], /duplicate service name/);
  assert.match(byPath['/services/2/routes/0/paths/0'], /invalid regular expression/);
  assert.match(byPath['/services/2/routes/0/rewrite/regex'], /invalid regular expression/);
  assert.match(byPath['/services/2/upstream/targets'], /at least one target/);
  assert.match(byPath['/services/2/upstream/hash_on/name'], /required/);
});

test(
  'upstream keep-alive: an announced timeout is followed up ' +
    'to keep_alive_max_ms, which may not be below keep_alive_ms',
  () => {
    const svc = (pool: Record<string, unknown>) => ({
      services: [
        { name: 'a', routes: [{ paths: ['/'] }], upstream: { targets: [{ url: 'http://127.0.0.1:1' }], pool } },
      ],
    });
    const c = ok(svc({}));
    assert.equal(c.services[0].upstream.pool.keep_alive_ms, 4000);
    assert.equal(c.services[0].upstream.pool.keep_alive_max_ms, 60000);
    assert.equal(
      c.proxy.keep_alive_ms,
      65000,
      'client keep-alive above the 60 s idle timeout of common load balancers',
    );
    ok(svc({ keep_alive_ms: 3000, keep_alive_max_ms: 3000 }));
    const errs = errorsOf(svc({ keep_alive_ms: 3000, keep_alive_max_ms: 2000 }));
    assert.deepEqual(
      errs.map((e) => e.path),
      ['/services/0/upstream/pool/keep_alive_max_ms'],
    );
    assert.match(errs[0].message, /at least pool.keep_alive_ms \(3000\)/);
  },
);

test('requires an admin token when the admin listener is not loopback', () => {
  const errs = errorsOf({ admin: { listen: '0.0.0.0:9080' } });
  assert.deepEqual(
    errs.map((e) => e.path),
    ['/admin/token'],
  );
  ok({ admin: { listen: '0.0.0.0:9080', token: 'a-long-enough-admin-token' } });
});

// Regression: validate accepted it, and the start failed with Node's ERR_OUT_OF_RANGE for headersTimeout.
test('proxy.header_timeout_ms may not exceed proxy.request_timeout_ms', () => {
  const errs = errorsOf({ proxy: { request_timeout_ms: 3000 } });
  assert.deepEqual(
    errs.map((e) => e.path),
    ['/proxy/header_timeout_ms'],
  );
  assert.match(errs[0].message, /at most proxy\.request_timeout_ms \(3000\)/);
  ok({ proxy: { request_timeout_ms: 3000, header_timeout_ms: 3000 } });
});

test('worker_watchdog_ms is 10000 by default, 0 or at least 2000, and a bad value names the field', () => {
  assert.equal(ok({}).worker_watchdog_ms, 10_000);
  for (const value of [0, 2000, 60_000]) assert.equal(ok({ worker_watchdog_ms: value }).worker_watchdog_ms, value);
  // Under 2 s, a worker that reports every 0.5 s would be killed for one slow turn of its loop.
  for (const value of [500, 1999, -1, 'soon']) {
    assert.ok(
      errorsOf({ worker_watchdog_ms: value }).some((e) => e.path === '/worker_watchdog_ms'),
      String(value),
    );
  }
});

test('YAML syntax errors carry the line', () => {
  const r = parseConfigText('services:\n  - name: [\n');
  assert.equal(r.ok, false);
  assert.match(r.ok ? '' : r.errors[0].message, /line \d+/);
});

test(
  'a text with no document (empty, blank, only ' + 'comments, a bare ---) is refused; {} is an all-defaults config',
  () => {
    for (const text of ['', '\n  \n', '# only a comment\n', '---\n', '~\n']) {
      const r = parseConfigText(text, '/etc/tollgate/gw.yaml');
      assert.equal(r.ok, false, JSON.stringify(text));
      assert.match(r.ok ? '' : r.errors[0].message, /\/etc\/tollgate\/gw\.yaml holds no config: it is empty/);
    }
    const empty = parseConfigText('{}\n');
    assert.ok(empty.ok);
    assert.equal(ok(empty.raw).workers, 1);
  },
);

test('TOLLGATE_* variables override deploy-time settings with the schema type', () => {
  const raw: Record<string, any> = { proxy: { listen: '127.0.0.1:1' } };
  const applied = applyEnvOverrides(raw, {
    TOLLGATE_PROXY_LISTEN: '127.0.0.1:2',
    TOLLGATE_WORKERS: '4',
    TOLLGATE_LOG_ACCESS_LOG: 'true',
    TOLLGATE_SERVICES: 'x',
  });
  assert.deepEqual(applied.map((s) => s.env).sort(), [
    'TOLLGATE_LOG_ACCESS_LOG',
    'TOLLGATE_PROXY_LISTEN',
    'TOLLGATE_WORKERS',
  ]);
  assert.deepEqual(raw, { proxy: { listen: '127.0.0.1:2' }, workers: 4, log: { access_log: true } });
  assert.equal(ok({ ...raw }).workers, 4);
  const r = validateConfig(
    {},
    {
      TOLLGATE_WORKERS: 'auto',
      TOLLGATE_PROXY_MAX_BODY_BYTES: '12',
      TOLLGATE_EVENTS_KAFKA_BROKERS: 'k1:9092, k2:9092',
    },
  );
  assert.ok(r.ok && r.config.workers === 'auto' && r.config.proxy.max_body_bytes === 12);
  assert.deepEqual(r.config.events.kafka.brokers, ['k1:9092', 'k2:9092'], 'lists are comma-separated');
});

test('an env override that is invalid is reported at its path, naming the variable and its value', () => {
  const r = validateConfig({ proxy: { max_body_bytes: 5 } }, { TOLLGATE_PROXY_MAX_BODY_BYTES: '10MB' });
  assert.equal(r.ok, false);
  assert.equal(r.ok ? '' : r.errors[0].path, '/proxy/max_body_bytes');
  assert.match(r.ok ? '' : r.errors[0].message, /must be integer.*\(set by TOLLGATE_PROXY_MAX_BODY_BYTES="10MB"\)$/);
  // An error the file itself causes is not blamed on a variable.
  const own = validateConfig({ proxy: { max_body_bytes: 'lots' } }, { TOLLGATE_PROXY_LISTEN: '127.0.0.1:2' });
  assert.ok(!own.ok && !own.errors[0].message.includes('set by'), JSON.stringify(own));
});

test('TOLLGATE_* variables that set nothing are found (a misspelt override); runtime, test, bench ones are not', () => {
  assert.deepEqual(
    unknownEnvVariables({
      TOLLGATE_PROXY_MAX_BODY_BYTE: '1',
      TOLLGATE_PROXY_LISTEN: '127.0.0.1:2',
      TOLLGATE_CONFIG: 'x.yaml',
      TOLLGATE_CLUSTER_WORKER: '1',
      TOLLGATE_TEST_REDIS_URL: 'redis://x',
      TOLLGATE_BENCH_GHZ: '/usr/local/bin/ghz',
      TOLLGATE_SERVICES: 'x',
      PATH: '/bin',
    }),
    ['TOLLGATE_PROXY_MAX_BODY_BYTE', 'TOLLGATE_SERVICES'],
  );
});

test('health.active.reuse_connection is off by default, taken when true, and must be a boolean', () => {
  const svc = (active: Record<string, unknown>) => ({
    services: [
      {
        name: 'a',
        routes: [{ paths: ['/'] }],
        upstream: { targets: [{ url: 'http://127.0.0.1:1' }], health: { active } },
      },
    ],
  });
  assert.equal(ok(svc({})).services[0].upstream.health.active?.reuse_connection, false);
  assert.equal(ok(svc({ reuse_connection: true })).services[0].upstream.health.active?.reuse_connection, true);
  assert.deepEqual(
    errorsOf(svc({ reuse_connection: 'yes' })).map((e) => e.path),
    ['/services/0/upstream/health/active/reuse_connection'],
  );
});

test(
  'health.active.host takes a host name or address with ' + 'an optional port, and nothing that could break the header',
  () => {
    const svc = (host: unknown) => ({
      services: [
        {
          name: 'a',
          routes: [{ paths: ['/'] }],
          upstream: { targets: [{ url: 'http://127.0.0.1:1' }], health: { active: { host } } },
        },
      ],
    });
    for (const good of ['api.internal', 'api.internal:8443', '10.0.0.7', '[::1]:8080', 'localhost']) {
      assert.equal(ok(svc(good)).services[0].upstream.health.active?.host, good);
    }
    for (const bad of [
      '',
      'a b',
      'api.internal\r\nx-evil: 1',
      'http://api.internal',
      'api.internal/healthz',
      '-api',
      'api..internal',
    ]) {
      assert.deepEqual(
        errorsOf(svc(bad)).map((e) => e.path),
        ['/services/0/upstream/health/active/host'],
        JSON.stringify(bad),
      );
    }
  },
);

test(
  'header names and values in routes must be valid HTTP ' +
    'fields: a bad one is named, not found later as a 502 per request',
  () => {
    const errs = errorsOf({
      services: [
        {
          name: 'a',
          routes: [
            {
              paths: ['/'],
              headers: { 'x y': '1' },
              request_headers: {
                set: { 'bad header': 'v', ok: 'a\r\nInjected: 1' },
                add: { 'x-nul': 'a\0b' },
                remove: ['no pe'],
              },
              response_headers: {
                add: { 'x-tab': 'a\tb', 'x-vis': '"quoted" é' },
                set: { 'x-lf': 'a\nb', 'x-wide': 'a→b' },
              },
            },
          ],
          upstream: { targets: [{ url: 'http://127.0.0.1:1' }] },
        },
      ],
    });
    const byPath = Object.fromEntries(errs.map((e) => [e.path, e.message]));
    const r = '/services/0/routes/0';
    assert.match(byPath[`${r}/headers/x y`], /name must match pattern/);
    assert.match(byPath[`${r}/request_headers/set/bad header`], /name must match pattern/);
    assert.match(byPath[`${r}/request_headers/set/ok`], /must match pattern/);
    assert.match(byPath[`${r}/request_headers/add/x-nul`], /must match pattern/);
    assert.match(byPath[`${r}/request_headers/remove/0`], /must match pattern/);
    assert.match(byPath[`${r}/response_headers/set/x-lf`], /must match pattern/);
    assert.match(
      byPath[`${r}/response_headers/set/x-wide`],
      /must match pattern/,
      'Node refuses to send a character above U+00FF',
    );
    // A tab, quotes and non-ASCII text are legal field content.
    assert.equal(byPath[`${r}/response_headers/add/x-tab`], undefined);
    assert.equal(byPath[`${r}/response_headers/add/x-vis`], undefined);
    assert.equal(errs.length, 7, JSON.stringify(errs));
  },
);

test('a route cannot add or set a header that frames the connection (HTTP/2 forbids them); it may remove one', () => {
  const errs = errorsOf({
    services: [
      {
        name: 's',
        routes: [
          {
            paths: ['/'],
            request_headers: { set: { 'Transfer-Encoding': 'chunked', 'X-Fine': 'a' }, remove: ['upgrade'] },
            response_headers: { add: { Upgrade: 'h2c' }, set: { connection: 'close', 'Content-Length': '0' } },
          },
        ],
        upstream: { targets: [{ url: 'http://127.0.0.1:1' }] },
      },
    ],
  });
  const r = '/services/0/routes/0';
  assert.deepEqual(errs.map((e) => e.path).sort(), [
    `${r}/request_headers/set/Transfer-Encoding`,
    `${r}/response_headers/add/Upgrade`,
    `${r}/response_headers/set/Content-Length`,
    `${r}/response_headers/set/connection`,
  ]);
  assert.match(errs[0].message, /frames the connection/);
});

test('a semantic check that cannot finish on a config the schema passed refuses it, rather than skip the rest', () => {
  const r = validateConfig({});
  assert.ok(r.ok);
  // A shape the schema would refuse, handed to the checks as if it had passed: the service's checks throw.
  const config = { ...r.config, services: [null] } as unknown as Parameters<typeof checkSemantics>[0];
  const [e] = checkSemantics(config, {}, true);
  assert.equal(e?.path, '');
  assert.match(e?.message ?? '', /^could not be checked: /);
  assert.deepEqual(checkSemantics(config, {}, false), [], 'after schema errors, those stand alone');
});
