import { Counter, Gauge, type Registry } from 'prom-client';

/** Why a WebSocket connection ended; bounded. */
export const CLOSE_REASONS = [
  'client', // the client closed its connection (after a close handshake or not)
  'upstream', // the upstream ended its connection
  'upstream_error', // the upstream's connection broke
  'idle', // websocket.idle_timeout_ms
  'lifetime', // websocket.max_lifetime_ms
  'shutdown', // the gateway shut down
  'message_too_big', // a client's message over websocket.max_message_bytes
  'app_disabled', // the connection's app was disabled or deleted
  'forbidden', // its app's roles or allowed addresses changed so that the route refuses it
  'credential_withdrawn', // the secret its API key matched was rotated out
  'token_expired', // the token it was opened with expired (auth.end_at_token_expiry)
  'client_certificate', // its listener's client-certificate checks changed (a new CRL or CA)
] as const;
export type CloseReason = (typeof CLOSE_REASONS)[number];

/** A service's WebSocket traffic so far: plain numbers tunnels add to as frames pass. */
export interface WebSocketTraffic {
  bytes: { in: number; out: number };
  messages: { in: number; out: number };
}

export function createWebSocketMetrics(register: Registry) {
  const registers = [register];
  // Counted as plain additions per chunk and turned into the counters when they are read: a labelled inc() per
  // chunk hashes its labels each time, 8% of echo throughput at 16 KB messages (npm run bench -- --websocket).
  const traffic = new Map<string, WebSocketTraffic>();
  const collectInto = (
    counter: Counter<'service' | 'direction'>,
    pick: (t: WebSocketTraffic) => WebSocketTraffic['bytes'],
  ) => {
    counter.reset();
    for (const [service, t] of traffic) {
      const totals = pick(t);
      counter.inc({ service, direction: 'in' }, totals.in);
      counter.inc({ service, direction: 'out' }, totals.out);
    }
  };
  return {
    /** The traffic accumulator of `service`, made on first use. */
    traffic(service: string): WebSocketTraffic {
      let t = traffic.get(service);
      if (t === undefined) traffic.set(service, (t = { bytes: { in: 0, out: 0 }, messages: { in: 0, out: 0 } }));
      return t;
    },
    open: new Gauge({
      name: 'tollgate_websocket_connections',
      help: 'WebSocket connections open through the gateway now, by service.',
      labelNames: ['service'] as const,
      registers,
    }),
    messages: new Counter({
      name: 'tollgate_websocket_messages_total',
      help: 'WebSocket data messages through the gateway, by service and direction (in: from clients).',
      labelNames: ['service', 'direction'] as const,
      registers,
      collect() {
        collectInto(this, (t) => t.messages);
      },
    }),
    bytes: new Counter({
      name: 'tollgate_websocket_bytes_total',
      help: 'Bytes of WebSocket frames through the gateway, by service and direction (in: from clients).',
      labelNames: ['service', 'direction'] as const,
      registers,
      collect() {
        collectInto(this, (t) => t.bytes);
      },
    }),
    closed: new Counter({
      name: 'tollgate_websocket_closed_total',
      help: `WebSocket connections ended, by service and reason (${CLOSE_REASONS.join(', ')}).`,
      labelNames: ['service', 'reason'] as const,
      registers,
    }),
  };
}

export type WebSocketMetrics = ReturnType<typeof createWebSocketMetrics>;
