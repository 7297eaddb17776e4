import Type from 'typebox';

const Grant = Type.Object(
  {
    routes: Type.Array(Type.String({ pattern: '^(\\*|[A-Za-z0-9_.-]{1,64})$' }), {
      minItems: 1,
      description: 'Route names of this service, or `*` for all of them (required).',
    }),
    methods: Type.Array(Type.String({ pattern: '^(\\*|[A-Z]+)$' }), {
      minItems: 1,
      default: ['*'],
      description: 'Methods granted, or `*` (default [*]).',
    }),
    paths: Type.Array(Type.String({ pattern: '^/' }), {
      default: [],
      description:
        'Path prefixes (whole segments, after normalisation) ' +
        'within those routes; empty = the whole route (default []).',
    }),
  },
  { additionalProperties: false },
);

export const RbacSchema = Type.Optional(
  Type.Object(
    {
      enabled: Type.Boolean({
        default: true,
        description: 'Deny every authenticated request no role grants (default true once `rbac` is present).',
      }),
      roles: Type.Record(Type.String({ pattern: '^[A-Za-z0-9_.:-]{1,64}$' }), Type.Array(Grant), {
        default: {},
        description:
          'Role name → grants; an app holding the role may call what a grant names (default {}: nothing is granted).',
      }),
      allow_encoded_slash: Type.Boolean({
        default: false,
        description:
          'Superseded by `routes[].escaped_slashes`: true reads as ' +
          '`escaped_slashes: keep` on each route of the service that sets none (default false).',
      }),
      case_insensitive_paths: Type.Boolean({
        default: false,
        description:
          'The upstream treats paths case-insensitively: grants and the route a ' +
          'path reaches are then checked on the lower-cased path too (default false).',
      }),
    },
    {
      additionalProperties: false,
      description:
        'Role-based access: roles grant routes, methods and path prefixes; deny by default (absent = no RBAC).',
    },
  ),
);
