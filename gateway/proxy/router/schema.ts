import Type from 'typebox';
import { RouteEscapedSlashesSchema } from '../stages/route-match/schema.ts';

/** RFC 9110 field names are tokens; a value holds visible characters, spaces, tabs and obs-text (what Node will send),
 * never CR, LF or NUL. */
const FIELD_NAME = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$";
const FIELD_VALUE = '^[\\t\\x20-\\x7e\\x80-\\xff]*$';
/** additionalProperties: false, or a name the pattern refuses would simply pass as an unlisted key. */
const Fields = (description: string) =>
  Type.Record(Type.String({ pattern: FIELD_NAME }), Type.String({ pattern: FIELD_VALUE }), {
    default: {},
    additionalProperties: false,
    description,
  });

const HeaderOps = Type.Object(
  {
    add: Fields('Headers appended (kept beside existing values).'),
    set: Fields('Headers replaced.'),
    remove: Type.Array(Type.String({ pattern: FIELD_NAME }), { default: [], description: 'Headers removed.' }),
  },
  { additionalProperties: false, default: {} },
);

export const RouteSchema = Type.Object(
  {
    name: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z0-9_.-]{1,64}$',
        description: 'Route name used in metrics and logs (default `<service>-<index>`).',
      }),
    ),
    hosts: Type.Array(Type.String({ pattern: '^(\\*\\.)?[A-Za-z0-9.-]+(:[0-9]+)?$' }), {
      default: [],
      description: 'Host names, exact or `*.example.com`; empty matches any host.',
    }),
    paths: Type.Array(Type.String({ minLength: 1 }), {
      default: [],
      description: '`/prefix` (longest wins), `=/exact`, or `~regex`; empty matches any path.',
    }),
    methods: Type.Array(Type.String({ pattern: '^[A-Z]+$' }), {
      default: [],
      description:
        'Allowed methods; empty matches any but TRACE, which only a route that lists it gets (405 otherwise).',
    }),
    headers: Type.Record(Type.String({ pattern: FIELD_NAME }), Type.String(), {
      default: {},
      additionalProperties: false,
      description: 'Required request headers: exact value, or `~regex`.',
    }),
    priority: Type.Integer({ default: 0, description: 'Higher priority routes are tried first (default 0).' }),
    trust_trace_context: Type.Optional(
      Type.Boolean({
        description:
          "Whether this route's requests continue the trace their traceparent names (default tracing.trust_incoming).",
      }),
    ),
    strip_prefix: Type.Boolean({
      default: false,
      description: 'Remove the matched path prefix before proxying (default false).',
    }),
    rewrite: Type.Optional(
      Type.Object(
        {
          regex: Type.String({ minLength: 1, description: 'Regular expression applied to the path.' }),
          replacement: Type.String({ description: 'Replacement with `$1`-style groups.' }),
        },
        { additionalProperties: false },
      ),
    ),
    escaped_slashes: RouteEscapedSlashesSchema,
    forward_original_path: Type.Boolean({
      default: false,
      description:
        'Send the path upstream as the client spelled it instead of its canonical form (default ' +
        'false); routing and every rule still read the canonical form. Not with strip_prefix or rewrite.',
    }),
    grpc: Type.Boolean({
      default: false,
      description:
        'The route serves gRPC calls only: anything else (no HTTP/2, no application/grpc content type) gets ' +
        '415 GW_ERR_NOT_GRPC instead of reaching the upstream (default false: any request is proxied, gRPC ' +
        'calls included).',
    }),
    preserve_host: Type.Boolean({
      default: false,
      description:
        "Send the client's Host upstream instead of the target's " +
        "(default false); the TLS server name stays the target's.",
    }),
    request_headers: HeaderOps,
    response_headers: HeaderOps,
  },
  { additionalProperties: false },
);
