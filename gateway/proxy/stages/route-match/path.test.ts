import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import Value from 'typebox/value';
import { PathHandlingSchema, type PathHandling } from './schema.ts';
import { ownEscapedSlashes } from './path.ts';
import { resolvePath } from './path.ts';
import { RouteSchema } from '../../router/schema.ts';
import { RouteTable } from '../../router/route-table.ts';
import { validateConfig } from '../../../control/config/load.ts';
import type { CompiledRoute } from '../../snapshot.ts';
import type { RouteConfig } from '../../../control/config/schema.ts';

const listener = (o: Partial<PathHandling> = {}): PathHandling =>
  Value.Default(PathHandlingSchema, structuredClone(o)) as PathHandling;

test(
  'the path handling schema defaults to merged slashes, ' +
    'rejected escaped separators, kept params and case-sensitive routes',
  () => {
    assert.deepEqual(listener(), {
      merge_slashes: true,
      escaped_slashes: 'reject',
      path_params: 'keep',
      case_sensitive: true,
    });
    assert.equal(
      Value.Check(PathHandlingSchema, { escaped_slashes: 'keep' }),
      false,
      'only a route may keep escaped separators',
    );
    assert.equal(Value.Check(PathHandlingSchema, { path_params: 'drop' }), false);
    assert.equal(
      Value.Check(RouteSchema, Value.Default(RouteSchema, { paths: ['/a'], escaped_slashes: 'keep' })),
      true,
    );
  },
);

test(
  'a route keeps escaped separators when it says so, or ' + 'when its service has the older rbac.allow_encoded_slash',
  () => {
    assert.equal(ownEscapedSlashes({ escaped_slashes: 'decode' }, { rbac: { allow_encoded_slash: true } }), 'decode');
    assert.equal(ownEscapedSlashes({}, { rbac: { allow_encoded_slash: true } }), 'keep');
    assert.equal(ownEscapedSlashes({}, {}), undefined, 'the listener decides');
  },
);

const errorsOf = (routes: unknown[], paths: Record<string, unknown> = {}) => {
  const r = validateConfig(
    { proxy: { paths }, services: [{ name: 's', routes, upstream: { targets: [{ url: 'http://127.0.0.1:1' }] } }] },
    {},
  );
  return r.ok ? [] : r.errors;
};

test('a route path that is not canonical is refused with the form to write', () => {
  assert.deepEqual(errorsOf([{ paths: ['/api/../v1', '=/a//b', '/%61pi', '/ok'] }]), [
    {
      path: '/services/0/routes/0/paths/0',
      message: 'is not in canonical form, so no request would match it; write /v1 (docs/path-handling.md)',
    },
    {
      path: '/services/0/routes/0/paths/1',
      message: 'is not in canonical form, so no request would match it; write =/a/b (docs/path-handling.md)',
    },
    {
      path: '/services/0/routes/0/paths/2',
      message: 'is not in canonical form, so no request would match it; write /api (docs/path-handling.md)',
    },
  ]);
  assert.deepEqual(errorsOf([{ paths: ['=/a//b'] }], { merge_slashes: false }), [], 'without merging, // is canonical');
  assert.equal(errorsOf([{ paths: ['/a%zz'] }])[0].message, 'is not a valid path (GW_ERR_PATH_INVALID)');
});

test('route paths and options that could never match or contradict each other are refused', () => {
  assert.equal(
    errorsOf([{ paths: ['/a%2Fb'] }])[0].message,
    'holds %2F or %5C, which only a route with escaped_slashes: keep can match',
  );
  assert.deepEqual(errorsOf([{ paths: ['/a%2Fb'], escaped_slashes: 'keep' }]), []);
  assert.match(errorsOf([{ paths: ['/a;v=1'] }], { path_params: 'strip' })[0].message, /path_params: strip never lets/);
  assert.deepEqual(errorsOf([{ paths: ['/a'], strip_prefix: true, forward_original_path: true }]), [
    {
      path: '/services/0/routes/0/forward_original_path',
      message: 'cannot be combined with strip_prefix or rewrite, which change the canonical path',
    },
  ]);
});

// Property: any spelling of a path reaches the route the path reaches, or a 400.

const SEGMENTS = ['a', 'b', 'api', 'admin', 'v1', 'x.y'];
const routePaths = fc.uniqueArray(
  fc.array(fc.constantFrom(...SEGMENTS), { minLength: 1, maxLength: 3 }).map((s) => '/' + s.join('/')),
  { minLength: 1, maxLength: 6 },
);
const requestPath = fc.array(fc.constantFrom(...SEGMENTS), { maxLength: 4 }).map((s) => '/' + s.join('/'));

/** Ways to spell the same path that some upstream reads as that path. */
const respelling = fc.array(
  fc.tuple(fc.nat(), fc.constantFrom('escape', 'dot', 'dotdot', 'slash', 'param', 'sep', 'backslash')),
  { minLength: 1, maxLength: 5 },
);

function respell(path: string, edits: [number, string][]): string {
  let segments = path.split('/').slice(1);
  for (const [n, kind] of edits) {
    const i = segments.length === 0 ? 0 : n % segments.length;
    const s = segments[i] ?? '';
    if (kind === 'escape' && s.length > 0) {
      // Only an unreserved character: an escaped `;` or `/` is data, another path (RFC 3986 2.2).
      const j = n % s.length;
      if (!/[A-Za-z0-9._~-]/.test(s[j])) continue;
      segments[i] =
        s.slice(0, j) + '%' + s.charCodeAt(j).toString(16)[n % 2 ? 'toUpperCase' : 'toLowerCase']() + s.slice(j + 1);
    } else if (kind === 'dot') segments.splice(i, 0, n % 2 ? '.' : '%2e');
    else if (kind === 'dotdot') segments.splice(i, 0, 'zz', n % 2 ? '..' : '.%2E');
    else if (kind === 'slash') segments.splice(i, 0, '');
    else if (kind === 'param' && s.length > 0) segments[i] = `${s};p=${n % 10}`;
    else if (kind === 'sep' || kind === 'backslash') {
      if (segments.length < 2) continue;
      const k = Math.max(1, i);
      segments = [
        ...segments.slice(0, k - 1),
        segments[k - 1] + (kind === 'sep' ? '%2F' : '\\') + segments[k],
        ...segments.slice(k + 1),
      ];
    }
  }
  return '/' + segments.join('/');
}

test('property: a path and any re-spelling of it reach the same route, or the re-spelling gets a 400', () => {
  fc.assert(
    fc.property(
      routePaths,
      requestPath,
      respelling,
      fc.constantFrom('reject', 'decode'),
      fc.constantFrom('keep', 'strip', 'reject'),
      fc.boolean(),
      (paths, path, edits, escaped, params, keepOnFirst) => {
        const routes = paths.map((p, i) => ({
          name: `r${i}`,
          config: Value.Default(RouteSchema, {
            paths: [p],
            escaped_slashes: keepOnFirst && i === 0 ? 'keep' : undefined,
          }) as RouteConfig,
        }));
        routes.push({ name: 'catch-all', config: Value.Default(RouteSchema, { paths: ['/'] }) as RouteConfig });
        const table = new RouteTable(
          routes.map((r) => ({
            route: { ...r, service: { config: {} } } as unknown as CompiledRoute,
            config: r.config,
          })),
        );
        const find = (p: string) => table.match('GET', 'a.test', 'a.test', p, {});
        const opts = listener({ escaped_slashes: escaped as 'reject', path_params: params as 'keep' });
        const plain = resolvePath(path, opts, find);
        assert.ok(typeof plain !== 'string', `${path} is canonical`);
        const spelled = respell(path, edits);
        const other = resolvePath(spelled, opts, find);
        if (typeof other === 'string') return assert.match(other, /^GW_ERR_PATH_/);
        assert.equal(other.match?.route.name, plain.match?.route.name, `${spelled} (a spelling of ${path})`);
      },
    ),
    { numRuns: 3000 },
  );
});
