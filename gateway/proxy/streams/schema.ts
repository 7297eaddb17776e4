/**
 * `streams`: TCP (layer 4) proxies. Each listens on its own address and sends
 * every connection to a target of its upstream, chosen by the same balancers,
 * health checks and breaker as a service's; optionally it terminates TLS, or
 * routes TLS by the server name a client asks for without terminating it.
 */
import Type, { type Static } from 'typebox';
import { AclSchema } from '../stages/ip-acl/schema.ts';
import { ListenerTlsSchema } from '../listeners/schema.ts';
import { ConsulDiscoverySchema, EtcdDiscoverySchema } from '../upstream/discovery/schema.ts';
import { PassiveHealthSchema } from '../upstream/health/schema.ts';
import { BreakerSchema, TargetWeightSchema, UpstreamTlsSchema, balancerNames } from '../upstream/schema.ts';

const Ms = (def: number, description: string, minimum = 1) =>
  Type.Integer({ minimum, default: def, description: `${description} (default ${def}).` });

const StreamTargetSchema = Type.Object(
  {
    url: Type.String({
      pattern: '^tcp://([A-Za-z0-9.-]+|\\[[0-9A-Fa-f:.]+\\]):[0-9]{1,5}$',
      description: 'The target, `tcp://host:port`.',
    }),
    weight: TargetWeightSchema,
  },
  { additionalProperties: false },
);

const StreamDnsSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, description: 'Hostname whose A/AAAA records are the targets.' }),
    port: Type.Integer({ minimum: 1, maximum: 65535, description: 'Port of every resolved target.' }),
    weight: Type.Integer({ minimum: 1, maximum: 1000, default: 1, description: 'Weight of each (default 1).' }),
    min_ttl_ms: Ms(1000, 'Re-resolve no more often than this', 100),
    max_ttl_ms: Ms(60000, 'Re-resolve at least this often', 100),
  },
  { additionalProperties: false },
);

const StreamActiveHealthSchema = Type.Object(
  {
    interval_ms: Ms(5000, 'Time between TCP connects to one target', 50),
    timeout_ms: Ms(1000, 'A connect slower than this fails', 10),
    healthy_threshold: Ms(2, 'Consecutive successes that bring a target back'),
    unhealthy_threshold: Ms(2, 'Consecutive failures that take a target out'),
  },
  { additionalProperties: false, description: 'Active checks: a TCP connect to each target, closed at once.' },
);

const StreamDiscoverySchema = Type.Object(
  {
    etcd: Type.Optional(EtcdDiscoverySchema),
    consul: Type.Optional(
      Type.Omit(ConsulDiscoverySchema, ['scheme'], {
        additionalProperties: false,
        description: 'Targets from the passing instances of a Consul service, at their address and port.',
      }),
    ),
  },
  {
    additionalProperties: false,
    description:
      'Targets from a service registry instead of `targets`: exactly one of etcd and consul. An etcd value is ' +
      '`{"url": "tcp://host:port"}` or `{"address": "host", "port": n}`; a Consul instance is its address and port. ' +
      'On a registry outage the last known targets keep serving (stale) and the gateway reconnects with backoff.',
  },
);

export const StreamUpstreamSchema = Type.Object(
  {
    balancer: Type.Union(
      balancerNames.map((n) => Type.Literal(n)),
      {
        default: 'round_robin',
        description: 'How a connection picks a target; the hashing ones hash the client address (default round_robin).',
      },
    ),
    targets: Type.Array(StreamTargetSchema, { default: [], description: 'Static targets.' }),
    dns: Type.Optional(StreamDnsSchema),
    discovery: Type.Optional(StreamDiscoverySchema),
    health: Type.Object(
      {
        active: Type.Optional(StreamActiveHealthSchema),
        passive: PassiveHealthSchema,
      },
      {
        additionalProperties: false,
        default: {},
        description: 'Health: connect failures eject a target (passive); optional TCP connect checks (active).',
      },
    ),
    breaker: BreakerSchema,
    tls: Type.Optional(UpstreamTlsSchema),
  },
  { additionalProperties: false },
);

const SniRouteSchema = Type.Object(
  {
    name: Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$', description: 'Route name, in metrics and events.' }),
    server_names: Type.Array(
      Type.String({
        pattern: '^(\\*\\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$',
      }),
      {
        minItems: 1,
        description: 'Names (SNI) this route takes, any case; `*.example.com` matches one label.',
      },
    ),
    upstream: StreamUpstreamSchema,
  },
  { additionalProperties: false },
);

const LimitsSchema = Type.Object(
  {
    max_connections: Ms(0, 'Connections open at once; more are closed at accept; 0 = no limit', 0),
    max_connections_per_ip: Ms(0, 'Connections one client address may hold open at once; 0 = no limit', 0),
    ipv6_prefix: Type.Integer({
      minimum: 1,
      maximum: 128,
      default: 128,
      description:
        'For max_connections_per_ip: IPv6 clients count by the first this many bits of their address (64: the /64 ' +
        'one host or site is commonly given); IPv4 addresses count each (default 128: each IPv6 address).',
    }),
    connections_per_s: Ms(
      0,
      "New connections accepted per second (a token bucket holding a second's worth); 0 = no limit",
      0,
    ),
  },
  { additionalProperties: false, default: {} },
);

const TimeoutsSchema = Type.Object(
  {
    connect_ms: Ms(2000, 'TCP (and TLS) connect to a target'),
    idle_ms: Ms(600000, 'A connection with no byte either way for this long is closed; 0 = never', 0),
    keepalive_ms: Ms(
      0,
      'TCP keep-alive probes on both sockets (client and target) after this long without traffic, so a peer gone ' +
        'without a reset (a host down, a dropped flow) is found by the system even with idle_ms 0; 0 = none. Its ' +
        'system calls cost ~2.3 µs a socket (docs/tcp.md)',
      0,
    ),
    max_lifetime_ms: Ms(0, 'A connection is closed after this long whatever it does; 0 = never', 0),
    handshake_ms: Ms(10000, 'Time a client has to send its PROXY header or TLS ClientHello, when one is read'),
  },
  { additionalProperties: false, default: {} },
);

const ProxyProtocolSchema = Type.Object(
  {
    send: Type.Union([Type.Literal('off'), Type.Literal('v1'), Type.Literal('v2')], {
      default: 'off',
      description: 'Start each upstream connection with a PROXY protocol header naming the client (default off).',
    }),
    accept: Type.Boolean({
      default: false,
      description:
        'Every connection starts with a PROXY protocol header (v1 or v2) from a load balancer in front, whose ' +
        'client address then counts as the client; only peers in `trusted_proxies` may send one, others are ' +
        'closed (default false).',
    }),
  },
  { additionalProperties: false, default: {} },
);

export const StreamSchema = Type.Object(
  {
    name: Type.String({
      pattern: '^[A-Za-z0-9_.-]{1,64}$',
      description: 'Unique stream name (no service may have it), the `service` of its metrics and access events.',
    }),
    listen: Type.String({
      pattern: '^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9.-]+):[0-9]{1,5}$',
      description:
        'Address, host:port. A reload that changes it moves the stream: it accepts at the old address until it ' +
        'listens at the new one; open connections carry on.',
    }),
    upstream: Type.Optional(StreamUpstreamSchema),
    tls: Type.Optional(ListenerTlsSchema),
    sni: Type.Optional(
      Type.Array(SniRouteSchema, {
        minItems: 1,
        description:
          'TLS passthrough: the server name in the ClientHello picks the route, and the TLS goes to its upstream ' +
          'untouched; a name no route has goes to `upstream`, or is closed without one. Not with `tls`.',
      }),
    ),
    proxy_protocol: ProxyProtocolSchema,
    acl: AclSchema,
    limits: LimitsSchema,
    timeouts: TimeoutsSchema,
  },
  { additionalProperties: false },
);

export const StreamsSchema = Type.Array(StreamSchema, {
  default: [],
  description: 'TCP proxies: a listener each, its connections sent to an upstream (docs/tcp.md).',
});

export type StreamConfig = Static<typeof StreamSchema>;
export type StreamUpstreamConfig = Static<typeof StreamUpstreamSchema>;
