import { test } from 'node:test';
import assert from 'node:assert/strict';
import { run, stages, type Handler } from './pipeline.ts';
import type { RequestContext } from './context.ts';

const ctx = {} as RequestContext;

test('the pipeline lists its stages in order and ends with the proxy', () => {
  assert.deepEqual(
    stages.map((s) => s.name),
    [
      'request-id',
      'via',
      'https',
      'client-ip',
      'token-endpoint',
      'route-match',
      'cors',
      'grpc',
      'ip-acl',
      'authenticate',
      'authorise',
      'rate-limit',
      'guard',
      'body-limit',
      'canary',
      'rewrite',
      'request-headers',
      'proxy',
    ],
  );
});

test('a stage returning false ends the request: later stages do not run', () => {
  const seen: string[] = [];
  const chain: Handler[] = [
    () => {
      seen.push('a');
    },
    () => {
      seen.push('b');
      return false;
    },
    () => {
      seen.push('c');
    },
  ];
  run(ctx, chain, 0, () => assert.fail('no error expected'));
  assert.deepEqual(seen, ['a', 'b']);
});

test('an asynchronous stage continues the chain when it resolves, and its rejection reaches onError', async () => {
  const seen: string[] = [];
  const errors: unknown[] = [];
  const chain: Handler[] = [
    async () => {
      seen.push('async');
    },
    () => {
      seen.push('after');
      throw new Error('boom');
    },
  ];
  run(ctx, chain, 0, (_c, err) => errors.push(err));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(seen, ['async', 'after']);
  assert.equal((errors[0] as Error).message, 'boom');
  const rejected: unknown[] = [];
  run(
    ctx,
    [
      async () => {
        throw new Error('nope');
      },
    ],
    0,
    (_c, err) => rejected.push(err),
  );
  await new Promise((r) => setImmediate(r));
  assert.equal((rejected[0] as Error).message, 'nope');
});
