import Type, { type Static } from 'typebox';

const GuardObject = Type.Object(
  {
    mode: Type.Union([Type.Literal('block'), Type.Literal('log_only')], {
      default: 'block',
      description:
        '`block`: answer 403 GW_ERR_INJECTION_BLOCKED; `log_only`: log a ' +
        'warning (rate-limited), count it and let the request through (default block).',
    }),
    sqli: Type.Boolean({ default: true, description: 'Detect SQL injection (default true).' }),
    xss: Type.Boolean({ default: true, description: 'Detect cross-site scripting (default true).' }),
    inspect: Type.Object(
      {
        path: Type.Boolean({ default: true, description: 'Inspect the path, per segment for SQL (default true).' }),
        query: Type.Boolean({
          default: true,
          description: 'Inspect every query parameter name and value (default true).',
        }),
        headers: Type.Array(Type.String({ pattern: "^[A-Za-z0-9!#$%&'*+.^_`|~-]+\\*?$", maxLength: 128 }), {
          default: ['user-agent', 'referer', 'cookie', 'x-*'],
          maxItems: 64,
          description:
            'Request headers to inspect, case-insensitive; a trailing `*` matches a prefix; ' +
            'cookie values are inspected one by one (default [user-agent, referer, cookie, x-*]).',
        }),
        json_body: Type.Boolean({
          default: false,
          description:
            'Inspect every string of JSON request bodies up to `max_inspect_bytes`, of declared length or not ' +
            '(buffered, then forwarded unchanged); larger bodies pass uninspected and are counted (default false).',
        }),
        form_body: Type.Boolean({
          default: false,
          description:
            'Inspect every field name and value of `application/x-www-form-urlencoded` and `multipart/form-data` ' +
            'request bodies up to `max_inspect_bytes`, as query parameters are (buffered, then forwarded unchanged; ' +
            "an upload's bytes are not read, its filename is); larger bodies pass uninspected and are counted " +
            '(default false).',
        }),
      },
      { additionalProperties: false, default: {}, description: 'What the guard reads.' },
    ),
    max_inspect_bytes: Type.Integer({
      minimum: 1024,
      maximum: 1048576,
      default: 65536,
      description:
        'Largest JSON or form body buffered for inspection, and the most ' +
        'characters of any one path, query or header value inspected (default 65536).',
    }),
    allowed_body_types: Type.Optional(
      Type.Array(
        Type.String({ pattern: '^(\\*|[A-Za-z0-9!#$&^_.+-]+)/(\\*|[A-Za-z0-9!#$&^_.+-]+)$', maxLength: 128 }),
        {
          maxItems: 64,
          description:
            'Media types a request body may have (`type/subtype`, `type/*`, case-insensitive); a body of another ' +
            "type, or without a Content-Type, gets 415 GW_ERR_BODY_TYPE_NOT_ALLOWED, as the OWASP Core Rule Set's " +
            'rule 920420 does: a service that parses a body whatever its type says could read what the guard did not ' +
            '(default: any type).',
        },
      ),
    ),
    exclude_paths: Type.Array(Type.String({ pattern: '^/', maxLength: 1024 }), {
      default: [],
      maxItems: 256,
      description:
        'Path prefixes (normalised paths, whole segments) the guard ' +
        'skips, e.g. a SQL console behind its own auth (default []).',
    }),
  },
  {
    additionalProperties: false,
    description:
      'Injection guard: SQL injection and XSS detection on ' +
      'path, query, headers and optionally JSON and form bodies (default: off).',
  },
);

export const GuardSchema = Type.Optional(GuardObject);
export type GuardConfig = Static<typeof GuardObject>;
