import { stateOf, type Runtime } from '../runtime.ts';

interface Limits {
  max_connections: number;
  max_connections_per_app: number;
}

/**
 * WebSocket connections open, or being opened, per service and per (service, app) in this process: what
 * `websocket.max_connections` and `max_connections_per_app` are held to. A place is taken before the upstream is
 * asked, so handshakes arriving together cannot all pass, and given back exactly once when the connection ends.
 */
export class ConnectionCounts {
  readonly #byService = new Map<string, number>();
  readonly #byApp = new Map<string, number>();

  /** Takes a place, or says which limit is full. */
  take(service: string, appId: string, limits: Limits): 'service' | 'app' | undefined {
    const open = this.#byService.get(service) ?? 0;
    if (limits.max_connections > 0 && open >= limits.max_connections) return 'service';
    const appKey = `${service}\u0000${appId}`;
    const byApp = this.#byApp.get(appKey) ?? 0;
    if (limits.max_connections_per_app > 0 && appId !== '' && byApp >= limits.max_connections_per_app) return 'app';
    this.#byService.set(service, open + 1);
    this.#byApp.set(appKey, byApp + 1);
    return undefined;
  }

  give(service: string, appId: string): void {
    decrement(this.#byService, service);
    decrement(this.#byApp, `${service}\u0000${appId}`);
  }
}

function decrement(counts: Map<string, number>, key: string): void {
  const n = (counts.get(key) ?? 1) - 1;
  if (n > 0) counts.set(key, n);
  else counts.delete(key);
}

export function connectionCounts(runtime: Runtime): ConnectionCounts {
  return stateOf(runtime, 'websocket-connections', () => new ConnectionCounts());
}
