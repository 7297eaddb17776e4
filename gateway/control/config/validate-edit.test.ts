import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { validateConfig } from './load.ts';
import type { Config } from './schema.ts';
import { planEdit, type ServingConfig } from './validate-edit.ts';

/** planEdit with the part validated here, as the config thread would. */
function validateEdit(raw: unknown, serving: ServingConfig, maxChanged?: number) {
  const plan = planEdit(raw, serving, maxChanged);
  return plan?.finish(plan.part && validateConfig(plan.part));
}

const CA = fileURLToPath(new URL('../../../test/helpers/tls/private-ca-cert.pem', import.meta.url));

/** Services of many shapes: each one exercises other parts of the schema and of checkSemantics. */
function service(i: number): Record<string, unknown> {
  const name = `svc${i}`;
  const plain = { targets: [{ url: `http://127.0.0.1:${9000 + i}` }] };
  switch (i % 6) {
    case 0:
      return { name, routes: [{ paths: [`/s${i}`], strip_prefix: true }], upstream: plain };
    case 1:
      return {
        name,
        routes: [
          {
            name: `r${i}`,
            paths: [`~^/re${i}/(\\d+)$`],
            methods: ['GET'],
            headers: { 'x-v': '~^v[12]$' },
            rewrite: { regex: '^/re(\\d+)/(.*)$', replacement: '/$2' },
          },
        ],
        upstream: {
          balancer: 'consistent_hash',
          hash_on: { source: 'header', name: 'x-user' },
          targets: [{ url: 'http://127.0.0.1:9001' }, { url: 'http://127.0.0.1:9002', weight: 3 }],
          health: { active: { path: '/healthz', interval_ms: 500 } },
        },
      };
    case 2:
      return {
        name,
        routes: [
          { name: `a${i}`, paths: [`/a${i}`] },
          { name: `b${i}`, paths: [`=/b${i}`], response_headers: { set: { 'x-b': '1' } } },
        ],
        upstream: plain,
        rate_limits: [{ name: 'q', key: 'client_ip', qps: 10, burst: 20, routes: [`a${i}`] }],
      };
    case 3:
      return {
        name,
        routes: [{ paths: [`/c${i}`] }],
        upstream: plain,
        canary: { groups: [{ name: 'next', weight: 5, upstream: { targets: [{ url: 'http://127.0.0.1:9100' }] } }] },
      };
    case 4:
      return {
        name,
        routes: [{ paths: [`/t${i}`] }],
        upstream: { targets: [{ url: 'https://api.internal:8443' }], tls: { ca_file: CA } },
      };
    default:
      return {
        name,
        routes: [{ paths: [`/d${i}`], methods: ['GET', 'POST'] }],
        upstream: { balancer: 'least_connections', targets: [{ url: 'http://127.0.0.1:9003' }] },
      };
  }
}

const baseRaw = () => ({
  proxy: { listen: '127.0.0.1:0' },
  admin: { listen: '127.0.0.1:0' },
  services: Array.from({ length: 30 }, (_, i) => service(i)),
});

function serving(raw: Record<string, unknown>): ServingConfig {
  const r = validateConfig(structuredClone(raw));
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  return { raw, config: r.config };
}

type Edit = [string, (raw: { services: Record<string, unknown>[] } & Record<string, unknown>) => void];

/** Edits made as the admin API makes them: unchanged services stay the same objects. */
const edits: Edit[] = [
  [
    'a route path changed',
    (c) => {
      c.services[3] = { ...c.services[3], routes: [{ paths: ['/moved'] }] };
    },
  ],
  [
    'an upstream replaced',
    (c) => {
      c.services[7] = {
        ...c.services[7],
        upstream: { balancer: 'random', targets: [{ url: 'http://127.0.0.1:9999' }] },
      };
    },
  ],
  [
    'a service added',
    (c) => {
      c.services.push(service(101));
    },
  ],
  [
    'a service removed',
    (c) => {
      c.services.splice(5, 1);
    },
  ],
  [
    'services reordered',
    (c) => {
      c.services.reverse();
    },
  ],
  [
    'the same content as new objects (a PUT /config body)',
    (c) => {
      c.services = structuredClone(c.services);
    },
  ],
  [
    'a TLS service changed',
    (c) => {
      c.services[4] = { ...c.services[4], routes: [{ paths: ['/tls2'] }] };
    },
  ],
  [
    'a duplicate service name',
    (c) => {
      c.services.push({ ...service(102), name: 'svc2' });
    },
  ],
  [
    'a duplicate route name across services',
    (c) => {
      c.services.push({ ...service(102), routes: [{ name: 'r1', paths: ['/x'] }] });
    },
  ],
  [
    'a default route name taken by another service',
    (c) => {
      c.services.push({
        name: 'svc0-x',
        routes: [{ name: 'svc0-0', paths: ['/y'] }],
        upstream: { targets: [{ url: 'http://127.0.0.1:1' }] },
      });
    },
  ],
  [
    'a bad regex',
    (c) => {
      c.services[1] = { ...c.services[1], routes: [{ paths: ['~(unclosed'] }] };
    },
  ],
  [
    'an unknown field',
    (c) => {
      c.services[2] = { ...c.services[2], bogus: true };
    },
  ],
  [
    'a rate limit naming a route the edit removed',
    (c) => {
      c.services[2] = { ...c.services[2], routes: [{ name: 'z', paths: ['/z'] }] };
    },
  ],
  [
    'a TLS file that cannot be read',
    (c) => {
      c.services[4] = {
        ...c.services[4],
        upstream: { targets: [{ url: 'https://a.internal' }], tls: { ca_file: '/nonexistent/ca.pem' } },
      };
    },
  ],
  [
    'a setting outside services',
    (c) => {
      c.proxy = { listen: '127.0.0.1:0', max_body_bytes: 1024 };
    },
  ],
  [
    'a service without a name',
    (c) => {
      c.services.push({ routes: [{ paths: ['/n'] }], upstream: { targets: [{ url: 'http://127.0.0.1:1' }] } });
    },
  ],
  [
    'services not a list',
    (c) => {
      (c as Record<string, unknown>).services = { a: 1 };
    },
  ],
];

for (const [what, edit] of edits) {
  test(`an edit validated by its changes is what the whole validation gives: ${what}`, () => {
    const raw = baseRaw();
    const before = serving(raw);
    const next = { ...raw, services: [...raw.services] };
    edit(next);
    const full = validateConfig(structuredClone(next));
    const part = validateEdit(next, before);
    if (part === undefined) {
      // Declined: fine when the whole validation refuses it or something outside services changed.
      const outside = what === 'a setting outside services' || what === 'services not a list';
      assert.ok(!full.ok || outside, `declined an edit the whole validation accepts: ${what}`);
      return;
    }
    assert.ok(full.ok, `accepted an edit the whole validation refuses: ${JSON.stringify(!full.ok && full.errors)}`);
    assert.deepStrictEqual(part, full);
  });
}

test('unchanged services keep their validated objects; changed ones are validated again', () => {
  const raw = baseRaw();
  const before = serving(raw);
  const next = { ...raw, services: [...raw.services] };
  next.services[3] = { ...next.services[3]!, routes: [{ paths: ['/moved'] }] };
  const r = validateEdit(next, before);
  assert.ok(r?.ok);
  const config = (r as { config: Config }).config;
  assert.equal(config.services[2], before.config.services[2]);
  assert.notEqual(config.services[3], before.config.services[3]);
  assert.equal(config.proxy, before.config.proxy, 'the settings outside services are the serving ones');
});

test('more changed services than the limit are left to the whole validation', () => {
  const raw = baseRaw();
  const before = serving(raw);
  const next = {
    ...raw,
    services: raw.services.map((s) => ({
      ...s,
      routes: (s.routes as object[]).map((r) => ({ ...r, methods: ['PUT'] })),
    })),
  };
  assert.equal(validateEdit(next, before, 29), undefined);
  assert.ok(validateEdit(next, before, 30)?.ok);
});
