/**
 * JSON Schemas of the admin routes: fastify validates requests with them and
 * @fastify/swagger builds /openapi.json from them. Config bodies are only
 * checked to be objects here; the config schema itself is applied by the
 * control plane, whose errors name every path (one schema, one set of errors).
 */

export const FieldError = {
  type: 'object',
  required: ['path', 'message'],
  properties: {
    path: {
      type: 'string',
      description: 'JSON-pointer-like path of the field, e.g. `/services/0/upstream/targets/1/url`.',
    },
    message: { type: 'string' },
  },
} as const;

export const ErrorReply = {
  type: 'object',
  description: 'Every error: a code from the gateway error registry, a message and the request id.',
  required: ['code', 'message', 'request_id'],
  properties: {
    code: { type: 'string', description: 'GW_ERR_* code.' },
    message: { type: 'string' },
    errors: { type: 'array', items: FieldError, description: 'Field errors (invalid config or request).' },
    request_id: { type: 'string', description: 'X-Request-Id of the request (generated when absent).' },
  },
} as const;

/** A free-form object: the config schema is enforced by the control plane, not by the route. */
const AnyObject = { type: 'object', additionalProperties: true } as const;

export const ConfigBody = {
  ...AnyObject,
  description: 'A whole config, as in the config file (see tollgate.schema.json).',
} as const;
export const ServiceBody = {
  ...AnyObject,
  description: 'One service as in `services[]` of the config; `name` may be omitted (taken from the URL).',
  properties: { name: { type: 'string' } },
} as const;
export const UpstreamBody = { ...AnyObject, description: "A service's `upstream` object, as in the config." } as const;

const summaryProperties = {
  version: { type: 'integer', description: 'Monotonic config version.' },
  source: { type: 'string', enum: ['file', 'admin', 'rollback', 'reload'] },
  createdAt: { type: 'string', description: 'ISO-8601 UTC.' },
  fileHash: {
    type: 'string',
    description:
      'sha256 of the config file (its parsed config, so comments and ' +
      'formatting do not count) this version was built from or on top of.',
  },
  note: { type: 'string' },
} as const;

export const VersionSummary = {
  type: 'object',
  required: ['version', 'source', 'createdAt', 'fileHash', 'note'],
  properties: summaryProperties,
} as const;

const restartPending = {
  type: 'array',
  items: { type: 'string' },
  description:
    'Present when settings of the serving config differ from those the gateway started with and take ' +
    'effect on restart (`proxy.listen`, `workers`, `store`, ...): their paths. The rest of the config serves.',
} as const;

/** The reply to an apply or an edit: the version now serving. */
export const AppliedVersion = {
  type: 'object',
  required: VersionSummary.required,
  properties: { ...summaryProperties, restartPending },
} as const;

export const VersionWithConfig = {
  type: 'object',
  required: ['version', 'source', 'createdAt', 'fileHash', 'note', 'config'],
  properties: { ...summaryProperties, config: AnyObject },
} as const;

/** GET /config: the serving version, with its config and what of it waits for a restart. */
export const ServingVersion = {
  ...VersionWithConfig,
  properties: { ...VersionWithConfig.properties, restartPending },
} as const;

const TargetHealth = {
  type: 'object',
  required: ['id', 'weight', 'healthy', 'ejected', 'active'],
  properties: {
    id: { type: 'string', description: 'Target origin, e.g. `http://127.0.0.1:9001`.' },
    weight: { type: 'integer' },
    healthy: { type: 'boolean', description: 'Verdict of the active health checker.' },
    ejected: { type: 'boolean', description: 'Passively ejected after consecutive failures.' },
    active: { type: 'integer', description: 'Requests in flight.' },
  },
} as const;

const DiscoveryStatus = {
  type: 'object',
  required: ['source', 'state', 'targets', 'skipped'],
  description: 'Where the targets come from, when a registry has them (upstream.discovery).',
  properties: {
    source: { type: 'string', enum: ['etcd', 'consul'] },
    state: {
      type: 'string',
      enum: ['connecting', 'synced', 'stale'],
      description:
        'connecting: not read yet; synced: in step with the registry; stale: the registry failed and the last ' +
        'known targets serve.',
    },
    targets: { type: 'integer', description: 'Targets in use.' },
    last_sync: { type: 'string', description: 'When the registry last answered (ISO 8601).' },
    stale_since: { type: 'string' },
    last_error: { type: 'string' },
    skipped: {
      type: 'array',
      description: 'Registry entries that are not usable targets (bad JSON, no address), with why.',
      items: {
        type: 'object',
        required: ['entry', 'reason'],
        properties: { entry: { type: 'string' }, reason: { type: 'string' } },
      },
    },
  },
} as const;

export const UpstreamHealth = {
  type: 'object',
  required: ['service', 'targets'],
  properties: {
    service: { type: 'string' },
    targets: { type: 'array', items: TargetHealth },
    discovery: DiscoveryStatus,
  },
} as const;

export const UpstreamView = {
  type: 'object',
  required: ['service', 'upstream', 'health'],
  properties: {
    service: { type: 'string' },
    upstream: { ...AnyObject, description: 'The upstream as configured (before defaults).' },
    health: {
      type: 'array',
      items: TargetHealth,
      description: 'Live state of each target; empty when the data plane has none yet.',
    },
  },
} as const;

export const NameParam = {
  type: 'object',
  required: ['name'],
  properties: { name: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,64}$', description: 'Service name.' } },
} as const;

export const ServiceParam = {
  type: 'object',
  required: ['service'],
  properties: { service: NameParam.properties.name },
} as const;

/** The usual error replies of a route, for the OpenAPI document. */
export function errorResponses(...statuses: number[]): Record<number, typeof ErrorReply> {
  const out: Record<number, typeof ErrorReply> = { 401: ErrorReply };
  for (const s of statuses) out[s] = ErrorReply;
  return out;
}
