import Type from 'typebox';

const Token = Type.String({ pattern: "^(\\*|[!#$%&'*+.^_`|~0-9A-Za-z-]+)$" });

export const CorsSchema = Type.Optional(
  Type.Object(
    {
      allow_origins: Type.Array(Type.String({ minLength: 1 }), {
        minItems: 1,
        description:
          'Origins allowed: exact (`https://app.example.com`), `*` (any), ' +
          'or `~regex` matched against the whole Origin (required, no default).',
      }),
      allow_methods: Type.Array(Type.String({ pattern: '^(\\*|[A-Z]+)$' }), {
        default: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
        description: 'Methods a preflight may ask for; `*` = any (default GET, HEAD, POST, PUT, PATCH, DELETE).',
      }),
      allow_headers: Type.Array(Token, {
        default: ['*'],
        description: 'Request headers a preflight may ask for; `*` = whatever it asks (default [*]).',
      }),
      expose_headers: Type.Array(Token, {
        default: [],
        description: 'Response headers scripts may read (Access-Control-Expose-Headers) (default []).',
      }),
      allow_credentials: Type.Boolean({
        default: false,
        description:
          'Send Access-Control-Allow-Credentials: true; the origin is then echoed, never `*` (default false).',
      }),
      max_age_s: Type.Integer({
        minimum: 0,
        maximum: 86400,
        default: 600,
        description: 'How long browsers may cache a preflight (Access-Control-Max-Age) (default 600).',
      }),
    },
    {
      additionalProperties: false,
      description:
        'CORS: preflights answered by the gateway, allow-origin headers on every reply; absent = no CORS handling.',
    },
  ),
);
