/** JSON Schemas of the /apps and /keys routes (apps.ts): validation and the OpenAPI document. */
const AppId = {
  type: 'string',
  pattern: '^[A-Za-z0-9_-]{1,64}$',
  description: 'App id: letters, digits, `_` and `-` (no `.`: API keys are `<app_id>.<secret>`).',
} as const;
const Limit = {
  type: ['integer', 'null'],
  minimum: 1,
  maximum: 1_000_000_000,
  description: 'Unset or null = no app limit.',
} as const;

const appFields = {
  name: { type: 'string', minLength: 1, maxLength: 128, description: 'Display name.' },
  status: {
    type: 'string',
    enum: ['enabled', 'disabled'],
    default: 'enabled',
    description:
      'A disabled app is refused everywhere within a second, even with tokens already issued (default enabled).',
  },
  allowed_ips: {
    type: 'array',
    maxItems: 256,
    items: { type: 'string', maxLength: 64 },
    description: 'Addresses or CIDRs the app may call from; empty = any (default []).',
  },
  qps: { ...Limit, description: 'Requests per second for this app (token bucket rate); unset = none.' },
  burst: { ...Limit, description: 'Token bucket size; unset = qps.' },
  qpd: { ...Limit, description: 'Billable requests per UTC day; unset = none.' },
  roles: {
    type: 'array',
    maxItems: 64,
    items: { type: 'string', pattern: '^[A-Za-z0-9_.:-]{1,64}$' },
    description: 'RBAC roles (default []).',
  },
} as const;

export const AppBody = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: appFields,
} as const;
export const CreateBody = {
  ...AppBody,
  properties: { id: { ...AppId, description: 'Optional; generated (`app_<hex>`) when absent.' }, ...appFields },
} as const;

/** What the API shows of an app: never a secret, never a hash. */
export const AppView = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'name', 'status', 'allowed_ips', 'roles', 'secrets', 'created_at', 'updated_at'],
  properties: {
    id: AppId,
    ...appFields,
    secrets: {
      type: 'array',
      description: 'When each live secret was made and, for a rotated-out one, when it stops working (ISO-8601).',
      items: {
        type: 'object',
        additionalProperties: false,
        properties: { created_at: { type: 'string' }, expires_at: { type: 'string' } },
      },
    },
    created_at: { type: 'string' },
    updated_at: { type: 'string' },
  },
} as const;
export const WithSecret = {
  type: 'object',
  additionalProperties: false,
  required: ['app', 'secret'],
  properties: {
    app: AppView,
    secret: { type: 'string', description: 'The new secret. Shown only in this reply; store it now.' },
  },
} as const;
export const KeyView = {
  type: 'object',
  additionalProperties: false,
  properties: {
    kid: { type: 'string' },
    alg: { type: 'string' },
    current: { type: 'boolean' },
    created_at: { type: 'string' },
    retired_at: { type: 'string' },
  },
} as const;
export const IdParam = { type: 'object', required: ['id'], properties: { id: AppId } } as const;
export const KeysRotateQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    revoke_previous: {
      type: 'boolean',
      default: false,
      description:
        'Drop the previous keys at once (a signing key that leaked): every token they signed is refused on the ' +
        'next request, on every node. Default false: they verify until their tokens expire.',
    },
  },
} as const;

export const RotateQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    overlap_s: {
      type: 'integer',
      minimum: 0,
      maximum: 2_592_000,
      description: 'How long the previous secret keeps working (default tokens.secret_overlap_s).',
    },
  },
} as const;
