import Type from 'typebox';

/** A service's WebSocket connections (docs/websocket.md). */
export const WebSocketSchema = Type.Object(
  {
    idle_timeout_ms: Type.Integer({
      minimum: 0,
      default: 300000,
      description:
        'A WebSocket connection that carries nothing either way for this long is closed: the client gets a close ' +
        'frame 1001 and both connections end; 0 = never (default 300000).',
    }),
    max_connections: Type.Integer({
      minimum: 0,
      default: 0,
      description:
        'Open WebSocket connections this service takes per proxy process; one more is refused with 503 ' +
        'GW_ERR_WEBSOCKET_LIMIT; 0 = no limit (default 0).',
    }),
    max_connections_per_app: Type.Integer({
      minimum: 0,
      default: 0,
      description:
        'Open WebSocket connections one app may hold on this service per proxy process; one more is refused ' +
        'with 429 GW_ERR_WEBSOCKET_APP_LIMIT; 0 = no limit (default 0).',
    }),
    max_message_bytes: Type.Integer({
      minimum: 0,
      default: 0,
      description:
        'Largest message a client may send (its frames together): a larger one closes the connection with 1009 ' +
        'and is not passed on; 0 = no limit (default 0).',
    }),
    ping_interval_ms: Type.Integer({
      minimum: 0,
      default: 0,
      description:
        'Every this long the gateway pings both sides (between frames), keeping the connections alive through ' +
        'NATs and load balancers; a client that sends nothing for two intervals, not even the pong, is taken ' +
        'for gone and closed (1001); 0 = off (default 0).',
    }),
    max_lifetime_ms: Type.Integer({
      minimum: 0,
      default: 0,
      description: 'Longest a WebSocket connection may last, then closed as when idle; 0 = no limit (default 0).',
    }),
  },
  {
    additionalProperties: false,
    default: {},
    description: "The service's WebSocket connections, proxied on its ordinary routes (an Upgrade: websocket request).",
  },
);
