/**
 * Node's `AsyncResource.prototype.bind` without the `asyncResource` property it hangs on every function it returns.
 *
 * Node 24's HTTP/2 client binds each request to an AsyncResource (`ClientHttp2Session.request`), so every call to an
 * h2 or h2c upstream (gRPC above all) makes one bound function. Node gives that function a getter and a setter for
 * `asyncResource`, a property deprecated since Node 20 (DEP0172), each wrapped in `util.deprecate()`. In a loop
 * (`node test/bench/process/async-resource-bind.bench.ts`) that cost 3.4–4.2 µs a bind, and ~840 bytes of it
 * outlived their scavenge to wait in the old generation for a mark-compact; without it, ~0.5 µs and nothing kept.
 * The stream the function is bound to stayed with it: an HTTP/2 client making calls spent 19–32% less CPU a call
 * once the property was gone (docs/decisions/0024-http2-client-bind.md).
 *
 * Everything else is Node's: the same scope (`runInAsyncScope`), `this`, arguments, result and `length`, and
 * Node's own argument check. It is installed only while Node still sets the property.
 */
import { AsyncResource } from 'node:async_hooks';

const nodeBind = AsyncResource.prototype.bind;

/** Whether Node's bind still hangs the deprecated property on what it returns. */
export const nodeSetsAsyncResource = 'asyncResource' in nodeBind.call(new AsyncResource('tollgate-probe'), () => {});

type Fn = (...args: unknown[]) => unknown;
const checkedByNode = nodeBind as (this: AsyncResource, fn: unknown, thisArg?: unknown) => Fn;

function bind(this: AsyncResource, fn: Fn, thisArg?: unknown): Fn {
  // Node's own check and error (ERR_INVALID_ARG_TYPE) for what is not a function.
  if (typeof fn !== 'function') return checkedByNode.call(this, fn, thisArg);
  const resource = this;
  const bound =
    thisArg === undefined
      ? function (this: unknown, ...args: unknown[]) {
          return resource.runInAsyncScope(fn, this, ...args);
        }
      : resource.runInAsyncScope.bind(resource, fn, thisArg);
  Object.defineProperty(bound, 'length', { configurable: true, enumerable: false, value: fn.length, writable: false });
  return bound;
}

/** The bind this module installs (exported for its test). */
export const leanBind = bind as typeof nodeBind;

if (nodeSetsAsyncResource) AsyncResource.prototype.bind = leanBind;
