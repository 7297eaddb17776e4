import { emptyIdentity, type Identity } from '../control/apps/types.ts';
import type { Logger } from '../log.ts';
import type { GatewayMetrics } from '../metrics.ts';
import { ProcessTracing } from './tracing/runtime.ts';
import type { RequestTracing } from './tracing/spans.ts';
import type { OpenEvents } from './events/request-events.ts';

/**
 * What lives as long as the proxy process, across config reloads: the
 * identity pushed by the control plane (apps, signing keys) and state that a
 * reload must not reset (token buckets, daily quotas, breakers, token caches).
 * Stages read `identity` per request (it changes without a reload) and keep
 * their state under their own key in `state`.
 */
export interface Runtime {
  identity: Identity;
  readonly state: Map<string, unknown>;
  readonly metrics: GatewayMetrics;
  readonly log: Logger;
  /** Run when the data plane closes (timers, connections held by stage state). */
  readonly closers: (() => void | Promise<void>)[];
  /** Run when graceful shutdown starts, before the drain wait (open WebSocket connections are told to close). */
  readonly drainers: (() => void)[];
  /** Where events other than a request's final one go (interim events of open connections); undefined: no sink. */
  events: OpenEvents | undefined;
  /** Tracing while it is on (tracing/spans.ts); undefined while off. */
  tracing: RequestTracing | undefined;
  /** Turns tracing on and off as configs apply. */
  readonly tracingControl: ProcessTracing;
}

export function createRuntime(metrics: GatewayMetrics, log: Logger): Runtime {
  const runtime = {
    identity: emptyIdentity,
    state: new Map(),
    metrics,
    log,
    closers: [],
    drainers: [],
    events: undefined,
    tracing: undefined,
  } as Omit<Runtime, 'tracingControl'> as Runtime;
  (runtime as { tracingControl: ProcessTracing }).tracingControl = new ProcessTracing(runtime);
  return runtime;
}

/** The state a stage keeps under `key`, made on first use. */
export function stateOf<T>(runtime: Runtime, key: string, make: () => T): T {
  let v = runtime.state.get(key) as T | undefined;
  if (v === undefined) {
    v = make();
    runtime.state.set(key, v);
  }
  return v;
}
