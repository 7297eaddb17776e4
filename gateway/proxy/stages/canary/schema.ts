import Type from 'typebox';
import { UpstreamSchema } from '../../upstream/schema.ts';

const GroupSchema = Type.Object(
  {
    name: Type.String({
      pattern: '^[A-Za-z0-9_.-]{1,64}$',
      description: "Group name, used in metrics and by `force_header.group`; `stable` is the service's own upstream.",
    }),
    weight: Type.Integer({
      minimum: 0,
      maximum: 1000000,
      default: 0,
      description: 'Relative share of unforced traffic, against `stable_weight`; 0 = forced requests only (default 0).',
    }),
    upstream: UpstreamSchema,
  },
  { additionalProperties: false },
);

export const CanarySchema = Type.Optional(
  Type.Object(
    {
      stable_weight: Type.Integer({
        minimum: 0,
        maximum: 1000000,
        default: 100,
        description: "Relative share of the service's own upstream (the stable group) (default 100).",
      }),
      groups: Type.Array(GroupSchema, {
        minItems: 1,
        maxItems: 8,
        description: 'Canary groups, each with its own upstream (targets, balancer, health checks, breaker).',
      }),
      sticky: Type.Object(
        {
          source: Type.Union(
            [Type.Literal('none'), Type.Literal('app'), Type.Literal('cookie'), Type.Literal('header')],
            {
              default: 'none',
              description:
                'What keeps one client in one group: the authenticated app, a ' +
                'cookie or a header; none = weighted split per request (default none).',
            },
          ),
          name: Type.Optional(
            Type.String({ minLength: 1, description: 'Cookie or header name (for cookie, header).' }),
          ),
        },
        { additionalProperties: false, default: {} },
      ),
      force_header: Type.Object(
        {
          name: Type.String({
            minLength: 1,
            pattern: "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$",
            default: 'x-canary',
            description: 'Request header that forces a group (default x-canary).',
          }),
          value: Type.String({
            minLength: 1,
            default: 'always',
            description:
              'Header value that forces `group` (default always); a ' +
              'value naming a group (or `stable`) forces that group.',
          }),
          group: Type.Optional(
            Type.String({ minLength: 1, description: 'Group forced by `value`; default: the first canary group.' }),
          ),
          apps: Type.Optional(
            Type.Array(Type.String({ minLength: 1 }), {
              description:
                'Only requests authenticated as one of these apps (ids) may force a group; others are split as if ' +
                'they sent no header. `[]`: none may. Unset: any client may (the default), including into a group ' +
                'of weight 0 that takes forced traffic only.',
            }),
          ),
        },
        { additionalProperties: false, default: {} },
      ),
    },
    {
      additionalProperties: false,
      description:
        "Canary release: weighted, optionally sticky split between the service's upstream and canary groups.",
    },
  ),
);
