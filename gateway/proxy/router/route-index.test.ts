import { test } from 'node:test';
import assert from 'node:assert/strict';
import Value from 'typebox/value';
import { RouteSchema } from './schema.ts';
import { RouteTable } from './route-table.ts';
import { literalSegments } from './route-index.ts';
import type { RouteConfig } from '../../control/config/schema.ts';
import { seededRandom } from '../../../test/helpers/seeded-random.ts';

const route = (r: Partial<RouteConfig>): RouteConfig => Value.Default(RouteSchema, structuredClone(r)) as RouteConfig;

/** The same routes scanned (the index never used) and indexed (always used). */
function both(routes: RouteConfig[]) {
  const named = routes.map((config, i) => ({ route: `r${i}`, config }));
  return { scanned: new RouteTable(named, Infinity), indexed: new RouteTable(named, 0) };
}

test('the index finds what the scan finds, on 400 random tables of overlapping routes', () => {
  const rand = seededRandom(20261124);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const some = <T>(xs: readonly T[], p: number): T[] => xs.filter(() => rand() < p);
  const hosts = [
    'a.example.com',
    'b.a.example.com',
    'example.com',
    '*.example.com',
    '*.a.example.com',
    'a.example.com:8080',
    '*.com',
    'other.test',
  ];
  const paths = [
    '/',
    '/a',
    '/a/b',
    '/a/b/c',
    '/ab',
    '=/a',
    '=/a/b/',
    '=/',
    'a',
    '/a/b/',
    // regexes: anchored on whole segments (indexed under them) and not (tried on every request)
    '~^/a/[0-9]+$',
    '~^/a/b/',
    '~^/a/b',
    '~^/ab?/',
    '~^/a/b*/c',
    '~^/a/|^/x',
    '~/b',
    '~^/$',
    '~^\\/a\\/',
    '~^/a/(?:b|c)/?',
    '~^/a/?b',
    '~^/a\\/c',
  ];
  const methods = ['GET', 'POST', 'DELETE'];
  const reqHosts = ['a.example.com', 'b.a.example.com', 'c.b.a.example.com', 'example.com', 'x.com', 'other.test', ''];
  const reqPaths = [
    '/',
    '/a',
    '/a/',
    '/a/b',
    '/a/b/',
    '/a/b/c/d',
    '/ab',
    '/abc',
    '/a/12',
    '/x/b',
    '/b',
    '*',
    '/a//c',
    '/ab/',
    '/x',
    '/a/c',
  ];
  let compared = 0;
  let matched = 0;
  for (let t = 0; t < 400; t++) {
    const routes: RouteConfig[] = [];
    const n = 1 + Math.floor(rand() * 40);
    for (let i = 0; i < n; i++) {
      routes.push(
        route({
          hosts: some(hosts, 0.15),
          paths: some(paths, 0.2),
          methods: some(methods, 0.2),
          headers: rand() < 0.15 ? { 'x-v': pick(['1', '~^[12]$']) } : {},
          priority: rand() < 0.2 ? pick([-1, 1, 5]) : 0,
        }),
      );
    }
    const { scanned, indexed } = both(routes);
    for (let q = 0; q < 60; q++) {
      const host = pick(reqHosts);
      const withPort = rand() < 0.3 && host ? `${host}:8080` : host;
      const path = pick(reqPaths);
      const method = pick(methods);
      const headers = rand() < 0.3 ? { 'x-v': pick(['1', '2', '3']) } : {};
      const want = scanned.match(method, host, withPort, path, headers);
      const got = indexed.match(method, host, withPort, path, headers);
      assert.deepEqual(
        got,
        want,
        `table ${t} ${JSON.stringify(routes)}: ${method} ${withPort} ${path} ${JSON.stringify(headers)}`,
      );
      compared++;
      if (want) matched++;
    }
  }
  // Both outcomes are exercised often, so the comparison is not all misses.
  assert.ok(matched > compared / 4 && matched < compared * 0.95, `${matched} of ${compared} matched`);
});

test('a regex is filed under the whole segments its anchored literal spells out, or under none', () => {
  const of = (pattern: string) => literalSegments(new RegExp(pattern).source);
  assert.equal(of('^/users/[0-9]+$'), '/users');
  assert.equal(of('^\\/v1\\/users\\/'), '/v1/users', 'escaped slashes are slashes');
  assert.equal(of('^/a/?b'), undefined, 'the slash is optional');
  assert.equal(literalSegments('^/users/[0-9]+$'), '/users');
  assert.equal(literalSegments('^/v1/users/'), '/v1/users');
  assert.equal(literalSegments('^/v1/users'), '/v1');
  assert.equal(literalSegments('^/ab?/'), undefined, 'b is optional, so no whole segment is certain');
  assert.equal(literalSegments('^/a/b?/'), '/a');
  assert.equal(literalSegments('^/a/|^/x'), undefined, 'an alternation');
  assert.equal(literalSegments('/a/b/'), undefined, 'not anchored');
  assert.equal(literalSegments('^\\\\/a/'), undefined, 'an escaped backslash stops the literal');
  assert.equal(literalSegments('^/users'), undefined, 'no slash after the segment');
});

test('an indexed table of 10,000 routes finds exact, prefix, wildcard and regex routes and the higher priority', () => {
  const routes: RouteConfig[] = [];
  for (let i = 0; i < 2500; i++) {
    routes.push(route({ hosts: [`h${i}.example.com`], paths: [`/s${i}`] }));
    routes.push(route({ hosts: [`*.w${i}.example.com`], paths: [`=/e${i}`] }));
    routes.push(route({ paths: [`~^/r${i}/[0-9]+$`] }));
    routes.push(route({ paths: [`/p${i}/v1`], methods: ['GET'] }));
  }
  routes.push(route({ paths: ['/p7/v1/x'], priority: -1 }));
  routes.push(route({ paths: ['/p9'], priority: 1 }));
  const t = new RouteTable(routes.map((config, i) => ({ route: i, config })));
  const m = (path: string, host = 'any.test', method = 'GET') => t.match(method, host, host, path, {});
  assert.equal(m('/s42/x', 'h42.example.com')?.route, 4 * 42);
  assert.equal(m('/s42/x', 'h43.example.com'), undefined);
  assert.equal(m('/e7', 'a.b.w7.example.com')?.route, 4 * 7 + 1);
  assert.equal(m('/e7', 'w7.example.com'), undefined);
  assert.equal(m('/r2499/12')?.route, 4 * 2499 + 2);
  assert.deepEqual(
    m('/p7/v1/x/y'),
    { route: 4 * 7 + 3, prefix: '/p7/v1' },
    'a longer prefix at a lower priority loses',
  );
  assert.equal(m('/p7/v1/x/y', 'any.test', 'POST')?.route, 10000);
  assert.equal(m('/p9/v1')?.route, 10001, 'priority beats a longer prefix');
  assert.equal(m('/nothing'), undefined);
});
