import Type from 'typebox';

/** `upstream.health`: active checks (optional) and passive ejection, per upstream. */
const ActiveHealthSchema = Type.Object(
  {
    kind: Type.Union([Type.Literal('http'), Type.Literal('tcp'), Type.Literal('grpc')], {
      default: 'http',
      description:
        'HTTP GET of `path`, a TCP connect, or gRPC health (grpc.health.v1.Health/Check of `grpc_service`, ' +
        'healthy when SERVING; needs upstream.protocol h2 or h2c) (default http).',
    }),
    grpc_service: Type.String({
      default: '',
      maxLength: 1024,
      description: "For kind grpc: the service asked about; '' asks about the server as a whole (default '').",
    }),
    path: Type.String({
      pattern: '^/[\\x21-\\x7e]*$',
      default: '/healthz',
      description:
        'Path probed by HTTP checks, with an optional query, in ' +
        'visible ASCII (percent-encode the rest; default /healthz).',
    }),
    interval_ms: Type.Integer({
      minimum: 50,
      default: 5000,
      description: 'Time between checks of one target (default 5000).',
    }),
    timeout_ms: Type.Integer({
      minimum: 10,
      default: 1000,
      description: 'A check slower than this fails; checks of one target never overlap (default 1000).',
    }),
    expected_statuses: Type.Array(Type.Integer({ minimum: 100, maximum: 599 }), {
      default: [200, 204],
      description: 'HTTP statuses that count as healthy (default [200, 204]).',
    }),
    healthy_threshold: Type.Integer({
      minimum: 1,
      default: 2,
      description: 'Consecutive successes that bring a target back (default 2).',
    }),
    unhealthy_threshold: Type.Integer({
      minimum: 1,
      default: 2,
      description: 'Consecutive failures that take a target out (default 2).',
    }),
    host: Type.Optional(
      Type.String({
        // A DNS name (labels of letters, digits and inner hyphens) or a bracketed IPv6 address, then an optional port.
        pattern:
          '^([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*' +
          '|\\[[0-9A-Fa-f:.]+\\])(:[0-9]{1,5})?$',
        description:
          'Host header of HTTP checks, a host name or address with an optional port; when absent, the Host the ' +
          'proxy sends the target (its host:port, or for DNS targets ' +
          "the name and port). The TLS server name stays the target's.",
      }),
    ),
    reuse_connection: Type.Boolean({
      default: false,
      description:
        'HTTP checks keep one idle connection per target between checks instead of opening one ' +
        "per check; the upstream's keep-alive timeout should exceed interval_ms (default false).",
    }),
  },
  { additionalProperties: false },
);

export const PassiveHealthSchema = Type.Object(
  {
    max_failures: Type.Integer({
      minimum: 0,
      default: 5,
      description: 'Consecutive failed requests that eject a target; 0 disables (default 5).',
    }),
    ejection_ms: Type.Integer({
      minimum: 100,
      default: 10000,
      description: 'How long an ejected target rests (default 10000).',
    }),
    failure_statuses: Type.Array(Type.Integer({ minimum: 100, maximum: 599 }), {
      default: [502, 503, 504],
      description:
        'Upstream statuses counted as failures, besides connect errors and timeouts (default [502, 503, 504]).',
    }),
    max_ejected_percent: Type.Integer({
      minimum: 0,
      maximum: 100,
      default: 50,
      description:
        "Most of the upstream's targets, in percent rounded down, that passive ejection holds out at once; a " +
        'failing target past the cap keeps serving. At 50 a lone target is never ' +
        'ejected, one of two or three, two of four; 100 lets every target be ejected (default 50).',
    }),
  },
  { additionalProperties: false, default: {} },
);

export const HealthSchema = Type.Object(
  {
    active: Type.Optional(ActiveHealthSchema),
    passive: PassiveHealthSchema,
  },
  { additionalProperties: false, default: {} },
);
