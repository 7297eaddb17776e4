import { stateOf, type Runtime } from '../runtime.ts';

/** What a listener or stream limits (0: no limit). */
export interface ConnectionLimitsConfig {
  max_connections: number;
  max_connections_per_ip: number;
  connections_per_s: number;
}

export type ConnectionRefusal = 'max_connections' | 'max_connections_per_ip' | 'rate_limited';

/**
 * A stream's `limits`, or an HTTP listener's, in this process: connections
 * open, per client (its address, or its IPv6 prefix: clientKey in ip.ts), and
 * new ones per second (a token bucket holding a second's worth). A place is
 * taken at accept and given back exactly once when the connection ends, under
 * the key it was taken with; the per-client map holds only clients with a
 * connection open.
 */
export class ConnectionLimits {
  open = 0;
  readonly byClient = new Map<string, number>();
  tokens = -1;
  lastMs = 0;

  /** Takes a place for a connection from the client `key` names, or says which limit refused it. */
  take(key: string, limits: ConnectionLimitsConfig, nowMs: number): ConnectionRefusal | undefined {
    if (limits.max_connections > 0 && this.open >= limits.max_connections) return 'max_connections';
    const fromClient = this.byClient.get(key) ?? 0;
    if (limits.max_connections_per_ip > 0 && fromClient >= limits.max_connections_per_ip)
      return 'max_connections_per_ip';
    const rate = limits.connections_per_s;
    if (rate > 0) {
      this.tokens = this.tokens < 0 ? rate : Math.min(rate, this.tokens + ((nowMs - this.lastMs) * rate) / 1000);
      this.lastMs = nowMs;
      if (this.tokens < 1) return 'rate_limited';
      this.tokens -= 1;
    }
    this.open++;
    this.byClient.set(key, fromClient + 1);
    return undefined;
  }

  give(key: string): void {
    this.open--;
    const n = (this.byClient.get(key) ?? 1) - 1;
    if (n > 0) this.byClient.set(key, n);
    else this.byClient.delete(key);
  }
}

/**
 * The limits state of the stream or HTTP listener `name`, kept across reloads: one a reload replaces or moves counts
 * the connections its predecessor still holds.
 */
export function limitsOf(runtime: Runtime, kind: 'stream' | 'listener', name: string): ConnectionLimits {
  const all = stateOf(runtime, `${kind}-limits`, () => new Map<string, ConnectionLimits>());
  let limits = all.get(name);
  if (limits === undefined) all.set(name, (limits = new ConnectionLimits()));
  return limits;
}
