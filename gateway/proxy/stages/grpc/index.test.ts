import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RequestContext } from '../../context.ts';
import type { CompiledRoute } from '../../snapshot.ts';
import { grpc } from './index.ts';

function call(isGrpc: boolean, headers: Record<string, string> = {}) {
  const replies: string[] = [];
  const ctx = {
    grpc: isGrpc,
    headers,
    startMs: 1000,
    grpcDeadlineMs: undefined as number | undefined,
    reply: (code: string) => {
      replies.push(code);
      return false;
    },
  };
  return { ctx, replies, asContext: ctx as unknown as RequestContext };
}

const routeWith = (only: boolean | undefined) => ({ config: { grpc: only } }) as unknown as CompiledRoute;

test('a grpc-only route refuses what is not a gRPC call with GW_ERR_NOT_GRPC; an ordinary route lets it by', () => {
  const plain = call(false);
  assert.equal(grpc.init(routeWith(true))!(plain.asContext), false);
  assert.deepEqual(plain.replies, ['GW_ERR_NOT_GRPC']);
  const elsewhere = call(false);
  assert.equal(grpc.init(routeWith(undefined))!(elsewhere.asContext), undefined);
  assert.deepEqual(elsewhere.replies, []);
});

test("a call's grpc-timeout sets its deadline from its arrival; a malformed one is refused", () => {
  const handler = grpc.init(routeWith(true))!;
  const timed = call(true, { 'grpc-timeout': '250m' });
  assert.equal(handler(timed.asContext), undefined);
  assert.equal(timed.ctx.grpcDeadlineMs, 1250);
  const untimed = call(true);
  handler(untimed.asContext);
  assert.equal(untimed.ctx.grpcDeadlineMs, undefined, 'no header, no deadline');
  const bad = call(true, { 'grpc-timeout': '123456789S' });
  assert.equal(handler(bad.asContext), false);
  assert.deepEqual(bad.replies, ['GW_ERR_GRPC_TIMEOUT_INVALID']);
});
