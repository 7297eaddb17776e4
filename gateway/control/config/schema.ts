import Type, { type Static } from 'typebox';
import { RouteSchema } from '../../proxy/router/schema.ts';
import { UpstreamSchema } from '../../proxy/upstream/schema.ts';
import { EventsSchema } from '../../proxy/events/schema.ts';
import { ReportsSchema } from '../../proxy/events/reports-schema.ts';
import { TrustedProxiesSchema } from '../../proxy/stages/client-ip/schema.ts';
import { CorsSchema } from '../../proxy/stages/cors/schema.ts';
import { AclSchema } from '../../proxy/stages/ip-acl/schema.ts';
import { AuthSchema } from '../../proxy/stages/authenticate/schema.ts';
import { RbacSchema } from '../../proxy/stages/authorise/schema.ts';
import { RateLimitsSchema, RateLimitStoreSchema } from '../../proxy/stages/rate-limit/schema.ts';
import { GuardSchema } from '../../proxy/stages/guard/schema.ts';
import { CanarySchema } from '../../proxy/stages/canary/schema.ts';
import { TokensSchema } from '../../proxy/stages/token-endpoint/schema.ts';
import { PathHandlingSchema } from '../../proxy/stages/route-match/schema.ts';
import { ListenerTlsSchema, ListenersSchema } from '../../proxy/listeners/schema.ts';
import { StreamsSchema } from '../../proxy/streams/schema.ts';
import { WebSocketSchema } from '../../proxy/websocket/schema.ts';
import { TracingSchema } from '../../proxy/tracing/schema.ts';

const Listen = (def: string, what: string) =>
  Type.String({
    pattern: '^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9.-]+):[0-9]{1,5}$',
    default: def,
    description: `${what} address, host:port (default ${def}).`,
  });

export const ServiceSchema = Type.Object(
  {
    name: Type.String({
      pattern: '^[A-Za-z0-9_.-]{1,64}$',
      description: 'Unique service name, used in metrics and the admin API.',
    }),
    routes: Type.Array(RouteSchema, { minItems: 1, description: 'How requests reach this service.' }),
    upstream: UpstreamSchema,
    cors: CorsSchema,
    acl: AclSchema,
    auth: AuthSchema,
    rbac: RbacSchema,
    rate_limits: RateLimitsSchema,
    guard: GuardSchema,
    max_body_bytes: Type.Optional(
      Type.Integer({
        minimum: 0,
        description: 'Largest request body for this service; overrides `proxy.max_body_bytes`; 0 = unlimited.',
      }),
    ),
    canary: CanarySchema,
    websocket: WebSocketSchema,
  },
  { additionalProperties: false },
);

export const ConfigSchema = Type.Object(
  {
    workers: Type.Union([Type.Literal('auto'), Type.Integer({ minimum: 1, maximum: 256 })], {
      default: 1,
      description: 'Proxy worker processes; `auto` = one per core (default 1).',
    }),
    worker_watchdog_ms: Type.Union([Type.Literal(0), Type.Integer({ minimum: 2000 })], {
      default: 10000,
      description:
        'With workers > 1: a proxy worker the primary has heard nothing from for this long (each reports every ' +
        '0.5 s from its event loop) is stuck; it is killed and another started, and ' +
        'counted in tollgate_worker_restarts_total. 0 = never, else at least 2000 (default 10000).',
    }),
    proxy: Type.Object(
      {
        listen: Listen('127.0.0.1:8080', 'Proxy listener'),
        max_header_bytes: Type.Integer({
          minimum: 1024,
          maximum: 1048576,
          default: 16384,
          description: 'Largest request head (line + headers); larger gets 431 (default 16384).',
        }),
        max_pipelined_requests: Type.Integer({
          minimum: 1,
          maximum: 10000,
          default: 64,
          description:
            'HTTP/1.1 requests one connection may have waiting behind the one being served (pipelining: sent ' +
            'before their answers came). They are served one at a time, in order; one more closes the ' +
            'connection, counted in tollgate_connections_refused_total{reason="pipeline_overflow"} (default 64).',
        }),
        max_body_bytes: Type.Integer({
          minimum: 0,
          default: 10485760,
          description: 'Largest request body; larger gets 413; 0 = unlimited (default 10485760).',
        }),
        header_timeout_ms: Type.Integer({
          minimum: 100,
          default: 10000,
          description: 'A client must send the request head within this; at most request_timeout_ms (default 10000).',
        }),
        request_timeout_ms: Type.Integer({
          minimum: 100,
          default: 60000,
          description:
            'An HTTP/1.1 client must send the whole request within this, or gets 408. An HTTP/2 stream is bounded ' +
            "by its upstream's timeouts instead: a body still coming when one runs out gets 408 too; a body the " +
            "gateway reads whole first (the token endpoint's, the guard's JSON) must come within this (default 60000).",
        }),
        max_connections: Type.Integer({
          minimum: 0,
          default: 0,
          description:
            'Client connections one proxy process keeps open at once (each worker its own); one more is closed ' +
            'as soon as it is accepted, before a byte is read, and counted in ' +
            'tollgate_client_connections_dropped_total. Keep it below the file descriptor ' +
            'limit less what upstream connections need. 0 = no limit (default 0). A new value applies to the ' +
            'connections accepted after the reload.',
        }),
        keep_alive_ms: Type.Integer({
          minimum: 100,
          default: 65000,
          description:
            'Idle client keep-alive, announced in `Keep-Alive: timeout`; above the 60 s idle timeout of ' +
            'common load balancers in front, so they never reuse a connection the gateway is closing (default 65000).',
        }),
        send_timeout_ms: Type.Integer({
          minimum: 0,
          default: 60000,
          description:
            'A client that takes none of a response for this long (the gateway waiting on it to read) loses ' +
            'the connection, and the upstream request is aborted, as nginx send_timeout; 0 = never (default 60000).',
        }),
        paths: PathHandlingSchema,
        via: Type.Object(
          {
            enabled: Type.Boolean({
              default: true,
              description:
                'Add `Via: <version> <pseudonym>` to every request sent upstream, after any Via it came with ' +
                '(RFC 9110 7.6.3), and refuse with 508 GW_ERR_LOOP_DETECTED a request whose Via shows it has ' +
                'passed through this gateway max_passes times: a target that leads back to the gateway ' +
                '(through DNS, a registry or another proxy) ends there, not at a timeout (default true).',
            }),
            pseudonym: Type.String({
              pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$",
              default: 'tollgate',
              description:
                'The name this gateway gives itself in Via (an HTTP token). Gateways chained in front of each ' +
                'other that should each count only their own passes need a name each (default tollgate).',
            }),
            max_passes: Type.Integer({
              minimum: 1,
              maximum: 100,
              default: 5,
              description:
                'A request that already passed this many times is refused; a request legitimately sent ' +
                'back through the gateway by a service it reached (and keeping Via) counts too (default 5).',
            }),
          },
          { additionalProperties: false, default: {} },
        ),
        drain_timeout_ms: Type.Integer({
          minimum: 0,
          default: 30000,
          description: 'Graceful shutdown waits this long for in-flight requests (default 30000).',
        }),
        tls_files_check_ms: Type.Union([Type.Literal(0), Type.Integer({ minimum: 100 })], {
          default: 5000,
          description:
            "How often the TLS files (upstreams' `tls.ca_file`, `cert_file`, `key_file`; listeners', TLS " +
            "streams' and the admin listener's certificates, keys, client CAs, CRLs and session ticket keys) are " +
            'checked for a change on disk; files that ' +
            'changed and then held still for one check are re-read as a reload does. 0 = only on a reload ' +
            '(default 5000). Read at start.',
        }),
        release_memory_after_idle_ms: Type.Union([Type.Literal(0), Type.Integer({ minimum: 5000 })], {
          default: 0,
          description:
            'After this long without a proxied request (0, or at least 5000), one memory-reducing GC gives ' +
            'memory a burst grew back to the OS; it blocks the event loop once (30-300 ms), and the first ' +
            'seconds of traffic after it cost 1.5-2.5x the CPU per request. 0 = never (default 0). Read at start.',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    listeners: ListenersSchema,
    admin: Type.Object(
      {
        listen: Listen('127.0.0.1:9080', 'Admin listener'),
        token: Type.Optional(
          Type.String({
            minLength: 16,
            description:
              'Bearer token for the admin API; required when `listen` is not loopback. A new token applies from ' +
              'the next request after the reload.',
          }),
        ),
        max_body_bytes: Type.Integer({
          minimum: 1024,
          default: 8 * 1024 * 1024,
          description:
            'Largest admin request body; a bigger one gets 413 (default 8 ' +
            'MiB: a whole config of ~40,000 services as JSON). Read at start.',
        }),
        tls: Type.Optional(
          Type.Object(ListenerTlsSchema.properties, {
            additionalProperties: false,
            description:
              "Serve the admin API (and the console) over HTTPS only, with the keys of a listener's `tls`: " +
              'certificates by SNI, versions, client certificates (mTLS) and the rest. Renewed files apply as a ' +
              "listener's do. Turning it on or off takes a restart.",
          }),
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    log: Type.Object(
      {
        level: Type.Union(
          ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].map((l) => Type.Literal(l)),
          { default: 'info', description: 'pino log level (default info).' },
        ),
        access_log: Type.Boolean({
          default: false,
          description: 'One JSON line per request, written off the request path (default false).',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    store: Type.Object(
      {
        kind: Type.Union([Type.Literal('file'), Type.Literal('redis')], {
          default: 'file',
          description: '`file` (single node) or `redis` (cluster) for admin edits and config history (default file).',
        }),
        dir: Type.String({ default: '.data/config', description: 'File store directory (default .data/config).' }),
        redis_url: Type.String({
          default: 'redis://127.0.0.1:6379',
          description: 'Redis store URL (default redis://127.0.0.1:6379).',
        }),
        prefix: Type.String({
          default: 'tollgate:',
          description: 'Redis key prefix; nodes sharing it share config (default tollgate:).',
        }),
        history_limit: Type.Integer({
          minimum: 1,
          maximum: 10000,
          default: 50,
          description: 'Config versions kept (default 50).',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    trusted_proxies: TrustedProxiesSchema,
    tokens: TokensSchema,
    rate_limit: RateLimitStoreSchema,
    events: EventsSchema,
    reports: ReportsSchema,
    tracing: TracingSchema,
    services: Type.Array(ServiceSchema, { default: [], description: 'Services and how to reach them.' }),
    streams: StreamsSchema,
  },
  { additionalProperties: false },
);

export type Config = Static<typeof ConfigSchema>;

export type ServiceConfig = Static<typeof ServiceSchema>;
export type RouteConfig = Config['services'][number]['routes'][number];
export type UpstreamConfig = Config['services'][number]['upstream'];
