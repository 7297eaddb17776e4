import Type, { type Static } from 'typebox';

/** How a listener reads request paths (docs/path-handling.md). */
export const PathHandlingSchema = Type.Object(
  {
    merge_slashes: Type.Boolean({
      default: true,
      description: 'Read `//` as `/` before routing and upstream, as nginx `merge_slashes` (default true).',
    }),
    escaped_slashes: Type.Union([Type.Literal('reject'), Type.Literal('decode')], {
      default: 'reject',
      description:
        'What `%2F`, `%5C` and a raw `\\` in a path get: `reject` = 400 GW_ERR_PATH_ESCAPED_SEPARATOR, `decode` ' +
        '= read as `/` and routed so; a route may override it, and only a route may `keep` them (default reject).',
    }),
    path_params: Type.Union([Type.Literal('keep'), Type.Literal('strip'), Type.Literal('reject')], {
      default: 'keep',
      description:
        '`;params` in a segment, which Java servers drop before routing: routes and rules never see them; ' +
        '`keep` = forwarded upstream, `strip` = removed, `reject` = 400 GW_ERR_PATH_PARAMETERS (default keep).',
    }),
    case_sensitive: Type.Boolean({
      default: true,
      description:
        'Routes match paths case-sensitively, as nginx and Envoy do; false = ignoring ASCII case, for upstreams ' +
        "that do (Express by default), so `/ADMIN` meets `/admin`'s " +
        'route; the path still goes upstream as sent (default true).',
    }),
  },
  {
    additionalProperties: false,
    default: {},
    description:
      'How request paths are read before routing: one canonical ' +
      'form for routing, every stage, the access event and the upstream.',
  },
);

export type PathHandling = Static<typeof PathHandlingSchema>;

/** A route's own answer to escaped separators; absent = the listener's `escaped_slashes`. */
export const RouteEscapedSlashesSchema = Type.Optional(
  Type.Union([Type.Literal('reject'), Type.Literal('decode'), Type.Literal('keep')], {
    description:
      'Overrides `proxy.paths.escaped_slashes` for requests whose decoded path reaches this route; `keep` = ' +
      'routed and forwarded with `%2F`/`%5C` kept, for ids that hold slashes, when the kept ' +
      'form reaches this route too and hides no dot segment (else 400 GW_ERR_PATH_AMBIGUOUS).',
  }),
);
