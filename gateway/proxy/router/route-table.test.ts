import { test } from 'node:test';
import assert from 'node:assert/strict';
import Value from 'typebox/value';
import { RouteSchema } from './schema.ts';
import { RouteTable } from './route-table.ts';
import type { RouteConfig } from '../../control/config/schema.ts';
import { runAtOnce } from '../slices.ts';

const route = (r: Partial<RouteConfig> & Record<string, unknown>): RouteConfig =>
  Value.Default(RouteSchema, structuredClone(r)) as RouteConfig;
const table = (routes: Record<string, Partial<RouteConfig>>) =>
  new RouteTable(Object.entries(routes).map(([name, r]) => ({ route: name, config: route(r) })));
const m = (t: RouteTable<string>, path: string, host = 'a.test', method = 'GET', headers = {}) =>
  t.match(method, host, host, path, headers)?.route;

test('the route schema rejects unknown fields and lower-case methods', () => {
  assert.equal(Value.Check(RouteSchema, route({ paths: ['/'] })), true);
  assert.equal(Value.Check(RouteSchema, { ...route({}), colour: 1 }), false);
  assert.equal(Value.Check(RouteSchema, route({ methods: ['get'] })), false);
});

test('longest prefix wins, on whole segments only', () => {
  const t = table({ api: { paths: ['/api'] }, v1: { paths: ['/api/v1'] }, root: { paths: ['/'] } });
  assert.equal(m(t, '/api/v1/users'), 'v1');
  assert.equal(m(t, '/api/v2'), 'api');
  assert.equal(m(t, '/api'), 'api');
  assert.equal(m(t, '/apix'), 'root');
});

test('exact beats prefix beats regex; priority beats all', () => {
  const t = table({
    exact: { paths: ['=/a/b'] },
    prefix: { paths: ['/a'] },
    re: { paths: ['~^/a/.*$'] },
    re2: { paths: ['~^/z/\\d+$'] },
  });
  assert.equal(m(t, '/a/b'), 'exact');
  assert.equal(m(t, '/a/c'), 'prefix');
  assert.equal(m(t, '/z/12'), 're2');
  assert.equal(m(t, '/z/x'), undefined);
  const p = table({ prefix: { paths: ['/a'] }, low: { paths: ['~^/a'], priority: 10 } });
  assert.equal(m(p, '/a/b'), 'low');
});

test('exact host beats wildcard beats any host', () => {
  const t = table({
    any: { paths: ['/'] },
    wild: { hosts: ['*.example.com'], paths: ['/'] },
    exact: { hosts: ['api.example.com'], paths: ['/'] },
  });
  assert.equal(m(t, '/', 'api.example.com'), 'exact');
  assert.equal(m(t, '/', 'www.example.com'), 'wild');
  assert.equal(m(t, '/', 'example.com'), 'any');
  assert.equal(m(t, '/', ''), 'any');
});

test('methods and header conditions narrow a route', () => {
  const t = table({
    get: { paths: ['/'], methods: ['GET'] },
    canary: { paths: ['/'], methods: ['GET'], headers: { 'X-Canary': 'yes' } },
    re: { paths: ['/'], methods: ['GET'], headers: { 'x-ver': '~^v[23]$' } },
  });
  assert.equal(m(t, '/', 'h', 'GET', { 'x-canary': 'yes' }), 'canary');
  assert.equal(m(t, '/', 'h', 'GET', { 'x-ver': 'v3' }), 're');
  assert.equal(m(t, '/', 'h', 'GET', {}), 'get');
  assert.equal(m(t, '/', 'h', 'POST', {}), undefined);
});

test('RouteTable.build yields between steps of a large table and builds the table the constructor does', () => {
  const routes = Array.from({ length: 3000 }, (_, i) => ({
    route: `r${i}`,
    config: route({
      paths: [`/s${i % 700}`, `=/x${i}`],
      hosts: i % 3 === 0 ? [`h${i % 40}.test`] : [],
      methods: i % 5 === 0 ? ['POST'] : [],
      priority: i % 7,
    }),
  }));
  const steps = RouteTable.build(routes);
  let yields = 0;
  let r = steps.next();
  for (; r.done !== true; r = steps.next()) yields++;
  assert.ok(yields >= 6, `${yields} yields`);
  const built = r.value;
  const made = new RouteTable(routes);
  for (let i = 0; i < 3000; i += 7) {
    for (const [path, host, method] of [
      [`/s${i % 700}/a`, 'a.test', 'GET'],
      [`/x${i}`, `h${i % 40}.test`, 'POST'],
      [`/s${i % 700}`, `h${i % 40}.test`, 'GET'],
    ]) {
      assert.deepEqual(m(built, path!, host, method), m(made, path!, host, method), `${method} ${host}${path}`);
    }
  }
});

test('a case-folding table matches paths ignoring ASCII case, scanned and indexed alike', () => {
  const routes = [
    { route: 'admin', config: route({ paths: ['/Admin'] }) },
    { route: 'exact', config: route({ paths: ['=/Status'] }) },
    { route: 'users', config: route({ paths: ['~^/users/[0-9]+$'], priority: 1 }) },
    { route: 'root', config: route({ paths: ['/'] }) },
  ];
  for (const indexFrom of [0, Infinity]) {
    const t = runAtOnce(RouteTable.build(routes, indexFrom, true));
    assert.deepEqual(t.match('GET', 'a.test', 'a.test', '/ADMIN/x', {}), { route: 'admin', prefix: '/admin' });
    assert.equal(m(t, '/admin'), 'admin');
    assert.equal(m(t, '/STATUS'), 'exact');
    assert.equal(m(t, '/Users/42'), 'users');
    assert.equal(m(t, '/adminx'), 'root');
    const strict = runAtOnce(RouteTable.build(routes, indexFrom, false));
    assert.equal(m(strict, '/ADMIN/x'), 'root', 'a case-sensitive table (the default) does not fold');
  }
});
