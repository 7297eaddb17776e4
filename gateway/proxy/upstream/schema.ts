import Type from 'typebox';
import { DiscoverySchema } from './discovery/schema.ts';
import { HealthSchema } from './health/schema.ts';

const balancerNames = [
  'round_robin',
  'weighted_round_robin',
  'random',
  'least_connections',
  'consistent_hash',
  'ip_hash',
] as const;

export const TargetWeightSchema = Type.Integer({
  minimum: 1,
  maximum: 1000,
  default: 1,
  description: 'Relative share for weighted balancers (default 1).',
});

const TargetSchema = Type.Object(
  {
    url: Type.String({
      pattern: '^https?://[^/?#]+/?$',
      description:
        'Origin of the target, `http://host:port` or `https://host:port` (no path); for https its host is the ' +
        'TLS server name, also under preserve_host (an address: no SNI, the certificate must hold that address).',
    }),
    weight: TargetWeightSchema,
  },
  { additionalProperties: false },
);

const DnsSchema = Type.Object(
  {
    name: Type.String({
      minLength: 1,
      description:
        'Hostname whose A/AAAA records are the targets; it is their Host (with the ' +
        "port unless it is the scheme's default) and, for https, their TLS server name.",
    }),
    port: Type.Integer({ minimum: 1, maximum: 65535, description: 'Port of every resolved target.' }),
    scheme: Type.Union([Type.Literal('http'), Type.Literal('https')], {
      default: 'http',
      description: 'Scheme of the resolved targets (default http).',
    }),
    weight: Type.Integer({
      minimum: 1,
      maximum: 1000,
      default: 1,
      description: 'Weight of each resolved target (default 1).',
    }),
    min_ttl_ms: Type.Integer({
      minimum: 100,
      default: 1000,
      description: 'Re-resolve no more often than this (default 1000).',
    }),
    max_ttl_ms: Type.Integer({
      minimum: 100,
      default: 60000,
      description: 'Re-resolve at least this often (default 60000).',
    }),
  },
  { additionalProperties: false },
);

const HashOnSchema = Type.Object(
  {
    source: Type.Union(
      ['ip', 'app', 'header', 'cookie', 'path', 'query'].map((s) => Type.Literal(s)),
      {
        default: 'ip',
        description: 'Hash key: client address, authenticated app (else the address), header, cookie, path or query.',
      },
    ),
    name: Type.Optional(
      Type.String({ minLength: 1, description: 'Header, cookie or query-argument name (for header, cookie, query).' }),
    ),
  },
  { additionalProperties: false, default: {} },
);

const PoolSchema = Type.Object(
  {
    connections: Type.Integer({
      minimum: 1,
      maximum: 10000,
      default: 128,
      description: 'Max connections per target (default 128).',
    }),
    keep_alive_ms: Type.Integer({
      minimum: 100,
      default: 4000,
      description:
        'Idle keep-alive per connection when the upstream announces no timeout ' +
        "of its own; keep it below the upstream's keep-alive timeout (default 4000).",
    }),
    keep_alive_max_ms: Type.Integer({
      minimum: 100,
      default: 60000,
      description:
        'When the upstream announces its keep-alive timeout (`Keep-Alive: timeout=N`), an idle connection is ' +
        'kept N seconds less 2 s, at most this long; at least `keep_alive_ms`; ' +
        'set it equal to `keep_alive_ms` to ignore the announcement (default 60000).',
    }),
    pipelining: Type.Integer({
      minimum: 1,
      maximum: 100,
      default: 1,
      description: 'HTTP/1.1 requests in flight per connection (default 1).',
    }),
    streams: Type.Integer({
      minimum: 1,
      maximum: 1000,
      default: 100,
      description:
        'With protocol h2 or h2c: requests (streams) in flight per connection; the target may ask for fewer ' +
        '(default 100).',
    }),
    ping_interval_ms: Type.Integer({
      minimum: 0,
      default: 300000,
      description:
        'With protocol h2c: a connection with calls in flight that has read nothing for this long is sent an ' +
        'HTTP/2 PING, and one that does not answer within `ping_timeout_ms` is closed, its calls failing as a lost ' +
        'connection (502, gRPC UNAVAILABLE), so a target that hangs or vanishes without a reset does not hold them ' +
        'until their own timeouts. Servers limit PINGs on a quiet connection (grpc-go and grpc-java allow one per ' +
        '5 minutes by default and close a connection that sends more, GOAWAY too_many_pings): go lower only where ' +
        'the targets allow it. With h2 (over TLS) PINGs go at this interval, unanswered ones not timed. 0: none ' +
        '(default 300000).',
    }),
    ping_timeout_ms: Type.Integer({
      minimum: 1,
      default: 20000,
      description:
        'How long a PING (ping_interval_ms) may go unanswered before its connection is closed (default 20000).',
    }),
  },
  { additionalProperties: false, default: {} },
);

const TimeoutsSchema = Type.Object(
  {
    connect_ms: Type.Integer({
      minimum: 1,
      default: 2000,
      description: "TCP (and TLS) connect timeout; for h2c, until the target's HTTP/2 SETTINGS arrive (default 2000).",
    }),
    header_ms: Type.Integer({
      minimum: 1,
      default: 30000,
      description: 'Time from request sent to response headers (default 30000).',
    }),
    body_idle_ms: Type.Integer({
      minimum: 1,
      default: 30000,
      description: 'Max gap between response body chunks (default 30000).',
    }),
    total_ms: Type.Integer({
      minimum: 0,
      default: 60000,
      description:
        'Whole exchange with the upstream, counted from dispatch, so the ' +
        'wait for a free connection counts too; 0 = none (default 60000).',
    }),
  },
  { additionalProperties: false, default: {} },
);

export const BreakerSchema = Type.Object(
  {
    enabled: Type.Boolean({
      default: false,
      description: 'Stop sending to a failing upstream and answer 503 GW_ERR_CIRCUIT_OPEN at once (default false).',
    }),
    min_requests: Type.Integer({
      minimum: 1,
      default: 20,
      description: 'Outcomes the window must hold before the error ratio can open the circuit (default 20).',
    }),
    error_ratio: Type.Number({
      exclusiveMinimum: 0,
      maximum: 1,
      default: 0.5,
      description: "Failed share of the window's outcomes that opens the circuit (default 0.5).",
    }),
    window_ms: Type.Integer({
      minimum: 100,
      maximum: 600000,
      default: 10000,
      description: 'Rolling window the ratio is measured over (default 10000).',
    }),
    open_ms: Type.Integer({
      minimum: 10,
      maximum: 3600000,
      default: 5000,
      description: 'How long an open circuit refuses before letting probes through (default 5000).',
    }),
    half_open_probes: Type.Integer({
      minimum: 1,
      maximum: 1000,
      default: 3,
      description:
        'Requests let through when half-open; that many ' +
        'successes close the circuit, one failure reopens it (default 3).',
    }),
    failure_statuses: Type.Array(Type.Integer({ minimum: 100, maximum: 599 }), {
      default: [500, 502, 503, 504],
      description:
        'Upstream statuses counted as failures, besides connect errors and timeouts (default [500, 502, 503, 504]).',
    }),
  },
  { additionalProperties: false, default: {} },
);

const RetryBudgetSchema = Type.Object(
  {
    ratio: Type.Number({
      minimum: 0,
      maximum: 10,
      default: 0.2,
      description: 'Retries allowed per request over the window, so retries cannot multiply an outage (default 0.2).',
    }),
    min_per_s: Type.Number({
      minimum: 0,
      maximum: 100000,
      default: 10,
      description: 'Retries per second always allowed, whatever the request count (default 10).',
    }),
    window_ms: Type.Integer({
      minimum: 100,
      maximum: 600000,
      default: 10000,
      description: 'Window over which requests and retries are counted (default 10000).',
    }),
  },
  { additionalProperties: false, default: {} },
);

/** A host name; an address is refused by the semantic checks (tls-files.ts), with a reason. */
const SERVER_NAME = '^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$';

export const UpstreamTlsSchema = Type.Object(
  {
    verify: Type.Boolean({
      default: true,
      description:
        "Check each https target's certificate: issued by a trusted CA, in date, and holding the TLS name; " +
        'false accepts any certificate, so anyone on the path ' +
        'can read and change the traffic (a lab only) (default true).',
    }),
    ca_file: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          "Absolute path of a PEM bundle of the CAs this upstream trusts, instead of the default store (Node's " +
          'Mozilla roots and NODE_EXTRA_CA_CERTS), as nginx proxy_ssl_trusted_certificate: only these ' +
          'CAs can vouch for it. Read at validate, start and every reload (default none: the default store).',
      }),
    ),
    server_name: Type.Optional(
      Type.String({
        pattern: SERVER_NAME,
        description:
          'TLS name of every https target, sent as SNI and the name its certificate must hold, instead of the ' +
          "target's own host or DNS name (nginx proxy_ssl_name); the " +
          "Host header is unchanged (default none: the target's own name).",
      }),
    ),
    cert_file: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'Absolute path of the PEM client certificate (leaf first, then any ' +
          'intermediates) presented to upstreams that ask for one (mTLS); needs key_file (default none).',
      }),
    ),
    key_file: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'Absolute path of the unencrypted PEM private key of cert_file (default none).',
      }),
    ),
    min_version: Type.Union([Type.Literal('TLSv1.2'), Type.Literal('TLSv1.3')], {
      default: 'TLSv1.2',
      description: 'Lowest TLS version offered to the upstream (default TLSv1.2).',
    }),
  },
  {
    additionalProperties: false,
    description:
      "TLS to the upstream's https targets, for proxied requests and active HTTP checks alike; refused on an " +
      'upstream with no https target. Absent: the default CA store, ' +
      "verification on, each target's own name, no client certificate.",
  },
);

export const UpstreamSchema = Type.Object(
  {
    balancer: Type.Union(
      balancerNames.map((n) => Type.Literal(n)),
      { default: 'round_robin', description: 'Load-balancing algorithm (default round_robin).' },
    ),
    hash_on: Type.Optional(HashOnSchema),
    protocol: Type.Union([Type.Literal('http/1.1'), Type.Literal('h2'), Type.Literal('h2c')], {
      default: 'http/1.1',
      description:
        'What the gateway speaks to the targets: `http/1.1`; `h2`, HTTP/2 over TLS (https targets; ALPN, the ' +
        'target may still choose HTTP/1.1); `h2c`, cleartext HTTP/2 with prior knowledge (http targets), as gRPC ' +
        'servers speak it. Whatever the client speaks (default http/1.1).',
    }),
    targets: Type.Array(TargetSchema, { default: [], description: 'Static targets.' }),
    dns: Type.Optional(DnsSchema),
    discovery: Type.Optional(DiscoverySchema),
    pool: PoolSchema,
    timeouts: TimeoutsSchema,
    retries: Type.Integer({
      minimum: 0,
      maximum: 5,
      default: 1,
      description:
        'Retries on another target, within `retry_budget`: of any request after a failed connect (its body is ' +
        'sent whole), and of an idempotent request without a body after a connection ' +
        'lost before any of the response; never after the response started. Such a request lost on a kept-alive ' +
        'connection the target had just closed, or one whose HTTP/2 stream it refused after its GOAWAY (its body ' +
        'kept up to 64 KiB), is sent again to it on a fresh connection, not counted here; 0 turns that off too ' +
        '(default 1).',
    }),
    retry_budget: RetryBudgetSchema,
    breaker: BreakerSchema,
    tls: Type.Optional(UpstreamTlsSchema),
    max_response_bytes: Type.Integer({
      minimum: 0,
      default: 0,
      description: 'Largest upstream response body; 0 = unlimited (default 0).',
    }),
    max_response_header_bytes: Type.Integer({
      minimum: 1024,
      maximum: 1024 * 1024,
      default: 16384,
      description:
        'Largest upstream response head (status line and headers); a bigger one gets the client a 502 ' +
        "(default 16384, as HAProxy's buffer; nginx's proxy_buffer_size is 4-8 KiB, Envoy allows 60 KiB).",
    }),
    health: HealthSchema,
  },
  { additionalProperties: false },
);

export { balancerNames };
