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
] as const;
export type CloseReason = (typeof CLOSE_REASONS)[number];

export function createWebSocketMetrics(register: Registry) {
  const registers = [register];
  return {
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
    }),
    bytes: new Counter({
      name: 'tollgate_websocket_bytes_total',
      help: 'Bytes of WebSocket frames through the gateway, by service and direction (in: from clients).',
      labelNames: ['service', 'direction'] as const,
      registers,
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
