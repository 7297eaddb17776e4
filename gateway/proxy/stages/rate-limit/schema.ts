import Type, { type Static } from 'typebox';

const PolicySchema = Type.Object(
  {
    name: Type.String({
      pattern: '^[A-Za-z0-9_.-]{1,64}$',
      description: 'Policy name, unique in the service; a metric label and part of the counter key.',
    }),
    key: Type.Union([Type.Literal('service'), Type.Literal('route'), Type.Literal('client_ip'), Type.Literal('app')], {
      default: 'service',
      description:
        'What one counter covers: the whole `service`, each `route`, each ' +
        '`client_ip`, or each `app` (anonymous requests share one counter) (default service).',
    }),
    ipv6_prefix: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 128,
        description:
          'For key client_ip: IPv6 clients count by the first this many bits of their address, 64 for the /64 one ' +
          'host or site is commonly given, so that one cannot spread its requests over addresses to get a bucket ' +
          'each; IPv4 (and IPv4-mapped) addresses count each (default 128: each IPv6 address).',
      }),
    ),
    routes: Type.Array(Type.String({ minLength: 1 }), {
      default: [],
      maxItems: 1000,
      description: 'Route names the policy applies to; empty = every route of the service (default []).',
    }),
    qps: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 1_000_000,
        description:
          "Token bucket refill, requests per second; unset = no QPS limit (for key app: the app record's qps wins).",
      }),
    ),
    burst: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 10_000_000,
        description: 'Token bucket size, at least qps (default = qps).',
      }),
    ),
    qpd: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 1_000_000_000_000,
        description: "Billable requests per day; unset = no daily quota (for key app: the app record's qpd wins).",
      }),
    ),
    time_zone: Type.String({
      minLength: 1,
      default: 'UTC',
      description: 'IANA time zone whose midnight starts a new QPD day (default UTC).',
    }),
    backend: Type.Union([Type.Literal('local'), Type.Literal('redis')], {
      default: 'local',
      description:
        '`local`: exact per process, no I/O; `redis`: shared by ' +
        'every node through `rate_limit.redis_url` (default local).',
    }),
    on_redis_error: Type.Union([Type.Literal('open'), Type.Literal('closed')], {
      default: 'open',
      description:
        'When Redis does not answer within `rate_limit.timeout_ms`: `open` = enforce an ' +
        'in-process insurance limit, `closed` = 503 GW_ERR_RATE_LIMIT_UNAVAILABLE (default open).',
    }),
  },
  { additionalProperties: false },
);

export const RateLimitsSchema = Type.Optional(
  Type.Array(PolicySchema, {
    maxItems: 32,
    description:
      'QPS token buckets and QPD quotas, checked in order after authorisation; each ' +
      'needs qps or qpd (key app may take both from the app record) (default: none).',
  }),
);

const StoreObject = Type.Object(
  {
    redis_url: Type.String({
      default: 'redis://127.0.0.1:6379',
      description: 'Redis shared by every node for `backend: redis` policies (default redis://127.0.0.1:6379).',
    }),
    prefix: Type.String({
      default: 'tollgate:rl:',
      description: 'Key prefix in Redis; nodes sharing it share counters (default tollgate:rl:).',
    }),
    timeout_ms: Type.Integer({
      minimum: 1,
      maximum: 10_000,
      default: 8,
      description:
        'A Redis answer slower than this counts as Redis being down for that request; ' +
        "with the gateway's own work a hung Redis then costs a request under 10 ms (default 8).",
    }),
    insurance_fraction: Type.Number({
      exclusiveMinimum: 0,
      maximum: 1,
      default: 1,
      description:
        "Share of a Redis policy's limits each process enforces locally while " +
        'Redis is down (fail open); e.g. 0.25 with four processes (default 1).',
    }),
    max_keys: Type.Integer({
      minimum: 100,
      maximum: 10_000_000,
      default: 100_000,
      description: 'Counters kept per policy in process; the least recently used go first (default 100000).',
    }),
  },
  {
    additionalProperties: false,
    default: {},
    description: 'Where shared rate-limit counters live and how long a request may wait for them.',
  },
);

export const RateLimitStoreSchema = StoreObject;

export type RateLimitPolicy = Static<typeof PolicySchema>;
export type RateLimitStore = Static<typeof StoreObject>;
