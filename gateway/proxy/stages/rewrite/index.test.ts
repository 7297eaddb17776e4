import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RequestContext } from '../../context.ts';
import type { CompiledRoute } from '../../snapshot.ts';
import { rewrite } from './index.ts';

type Route = {
  strip_prefix?: boolean;
  rewrite?: { regex: string; replacement: string };
  forward_original_path?: boolean;
};

/** The upstream path the stage sets for a request routed by `matchedPrefix`. */
function upstreamPath(
  config: Route,
  req: { path: string; query?: string; originalPath?: string; forwardPath?: string },
  matchedPrefix = '/api',
) {
  const run = rewrite.init({ config } as unknown as CompiledRoute) as (ctx: RequestContext) => void;
  const ctx = { query: '', originalPath: req.path, matchedPrefix, ...req } as unknown as RequestContext;
  run(ctx);
  return ctx.upstreamPath;
}

test('strip_prefix drops the matched prefix and keeps the query; the path never loses its leading slash', () => {
  assert.equal(upstreamPath({ strip_prefix: true }, { path: '/api/users/7', query: 'a=1' }), '/users/7?a=1');
  assert.equal(upstreamPath({ strip_prefix: true }, { path: '/api' }), '/');
  assert.equal(upstreamPath({ strip_prefix: false }, { path: '/api/users' }), '/api/users');
  assert.equal(upstreamPath({ strip_prefix: true }, { path: '/users' }, '/'), '/users', 'a / prefix strips nothing');
});

test("strip_prefix on a path kept with ;params drops the prefix's segments, params and all", () => {
  assert.equal(upstreamPath({ strip_prefix: true }, { path: '/api/x', forwardPath: '/api;v=1/x;y' }), '/x;y');
});

test('the regex rewrite runs after strip_prefix; forward_original_path sends the spelling the client used', () => {
  const rw = { regex: '^/v1/(.*)$', replacement: '/v2/$1' };
  assert.equal(upstreamPath({ strip_prefix: true, rewrite: rw }, { path: '/api/v1/items', query: 'q' }), '/v2/items?q');
  assert.equal(upstreamPath({ rewrite: { regex: '^/api', replacement: '' } }, { path: '/api' }), '/');
  assert.equal(
    upstreamPath(
      { strip_prefix: true, forward_original_path: true },
      { path: '/api/a', originalPath: '/API//a', query: 'z' },
    ),
    '/API//a?z',
  );
});
