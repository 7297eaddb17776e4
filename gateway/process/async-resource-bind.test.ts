import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { AsyncLocalStorage, AsyncResource, executionAsyncId, triggerAsyncId } from 'node:async_hooks';

// Node's bind, kept before the module replaces it, to hold the gateway's to the same behaviour.
const nodeBind = AsyncResource.prototype.bind;
const { leanBind, nodeSetsAsyncResource } = await import('./async-resource-bind.ts');

type Bind = typeof nodeBind;
const binds: Record<string, Bind> = { "Node's": nodeBind, "the gateway's": leanBind };

/** What a bound function sees when called, for comparing the two binds. */
function observe(bind: Bind, thisArg?: unknown) {
  const als = new AsyncLocalStorage<string>();
  const resource = als.run('at creation', () => new AsyncResource('TollgateTest', { triggerAsyncId: 7 }));
  function seen(this: unknown, a: number, b: number) {
    return { self: this, args: [a, b], store: als.getStore(), id: executionAsyncId(), trigger: triggerAsyncId() };
  }
  type Seen = (this: unknown, a: number, b: number) => ReturnType<typeof seen>;
  const bound = Reflect.apply(bind, resource, [seen, thisArg]) as Seen;
  const receiver = { name: 'receiver' };
  const result = als.run('at call', () => bound.call(receiver, 1, 2));
  return {
    length: bound.length,
    result: { ...result, self: result.self === receiver ? 'receiver' : result.self },
    resourceId: resource.asyncId(),
  };
}

test("the gateway's bind calls a function as Node's does: scope, context, this, arguments, length", () => {
  for (const thisArg of [undefined, { name: 'bound this' }]) {
    const node = observe(nodeBind, thisArg);
    const lean = observe(leanBind, thisArg);
    assert.equal(lean.length, 2);
    assert.equal(lean.result.store, 'at creation', 'the context of when the resource was made');
    assert.equal(lean.result.id, lean.resourceId, "inside the resource's scope");
    assert.equal(lean.result.trigger, 7);
    assert.deepEqual(lean.result.args, [1, 2]);
    assert.deepEqual(lean.result.self, thisArg ?? 'receiver');
    // Node's gives the same, but for its own async ids.
    assert.deepEqual({ ...node.result, id: 0 }, { ...lean.result, id: 0 });
    assert.equal(node.length, lean.length);
  }
});

test("what is not a function gets Node's own error", () => {
  for (const [name, bind] of Object.entries(binds)) {
    assert.throws(
      () => bind.call(new AsyncResource('TollgateTest'), 'nope' as never),
      { code: 'ERR_INVALID_ARG_TYPE' },
      name,
    );
  }
});

test("a bound function has no asyncResource property (DEP0172), which made Node's bind cost ~4 µs a call", () => {
  assert.ok(nodeSetsAsyncResource, 'this Node no longer sets it: the module and this test can go');
  assert.ok('asyncResource' in nodeBind.call(new AsyncResource('TollgateTest'), () => {}));
  assert.equal(AsyncResource.prototype.bind, leanBind, 'installed on import');
  // Node's HTTP/2 client binds through the prototype: a request made now gets the gateway's bind.
  const bound = new AsyncResource('TollgateTest').bind(() => {});
  assert.ok(!('asyncResource' in bound));
  assert.ok(!('asyncResource' in AsyncResource.bind(() => {})), 'the static bind goes through it too');
});

test('the process entry installs it before the commands load', () => {
  const cli = readFileSync(new URL('./cli.ts', import.meta.url), 'utf8');
  const at = cli.indexOf("import './async-resource-bind.ts';");
  assert.ok(at > 0 && at < cli.indexOf("await import('./command.ts')"));
});
