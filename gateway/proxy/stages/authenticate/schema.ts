import Type, { type Static } from 'typebox';

const HeaderName = (def: string, what: string) =>
  Type.String({ pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$", default: def, description: `${what} (default ${def}).` });

/** Asymmetric algorithms only: an HS* allowlist would let a public key be used as an HMAC secret. */
const VerifyAlgorithms = [
  'ES256',
  'ES384',
  'ES512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'EdDSA',
] as const;

const IssuerSchema = Type.Object(
  {
    issuer: Type.String({ minLength: 1, description: "Exact `iss` of this issuer's tokens." }),
    jwks_url: Type.String({
      pattern: '^https?://',
      description: 'Where the issuer publishes its public keys (fetched, cached and refreshed on an unknown kid).',
    }),
    audience: Type.Array(Type.String({ minLength: 1 }), {
      minItems: 1,
      description: 'Accepted `aud` values; a token must carry one of them.',
    }),
    algorithms: Type.Array(Type.Union(VerifyAlgorithms.map((a) => Type.Literal(a))), {
      minItems: 1,
      default: ['RS256', 'ES256'],
      description: 'Accepted `alg` values (default [RS256, ES256]).',
    }),
    app_claim: Type.String({ minLength: 1, default: 'sub', description: 'Claim naming the app (default sub).' }),
    require_app: Type.Boolean({
      default: false,
      description:
        'Refuse a token whose app is not a registered app (default false: the claim is used as the app id as is).',
    }),
    jwks_cooldown_ms: Type.Integer({
      minimum: 0,
      maximum: 3_600_000,
      default: 30_000,
      description:
        'Least time between two JWKS fetches: an unknown kid refetches the keys at most this often (default 30000).',
    }),
    jwks_max_age_ms: Type.Integer({
      minimum: 1000,
      maximum: 86_400_000,
      default: 600_000,
      description:
        'How long fetched keys, and tokens verified with them, are trusted: older keys are refetched before the ' +
        'next verification, and a cached token is verified again after this long, so a key withdrawn from the ' +
        'JWKS is refused within twice this time (default 600000).',
    }),
  },
  { additionalProperties: false },
);

const AuthObject = Type.Object(
  {
    type: Type.Union([Type.Literal('none'), Type.Literal('jwt'), Type.Literal('api_key'), Type.Literal('mtls')], {
      default: 'none',
      description:
        '`none`, `jwt` (Authorization: Bearer), `api_key`, or `mtls`: the client certificate a TLS listener ' +
        'verified (`listeners[].tls.client_certificates`) names the app (default none).',
    }),
    mtls: Type.Object(
      {
        app_from: Type.Union(
          [Type.Literal('cn'), Type.Literal('san_dns'), Type.Literal('san_email'), Type.Literal('san_uri')],
          {
            default: 'cn',
            description:
              "Which field of the client certificate is the app id: its subject's CN, or its first DNS, email or " +
              'URI subjectAltName (`san_uri`: a SPIFFE ID such as spiffe://cluster.local/ns/shop/sa/cart, as a ' +
              'service mesh issues them) (default cn).',
          },
        ),
        require_app: Type.Boolean({
          default: true,
          description:
            'Refuse a certificate whose app is not a registered app (default true; false: the name is the app ' +
            'id as is, unregistered).',
        }),
      },
      { additionalProperties: false, default: {}, description: 'For type mtls.' },
    ),
    gateway_tokens: Type.Boolean({
      default: true,
      description: "Accept tokens issued by this gateway's token endpoint (default true).",
    }),
    issuers: Type.Array(IssuerSchema, {
      default: [],
      maxItems: 16,
      description: 'External JWT issuers accepted besides the gateway (default []).',
    }),
    api_key_header: HeaderName(
      'x-api-key',
      'Header carrying `<app_id>.<secret>` for api_key; never forwarded upstream',
    ),
    hide_credentials: Type.Boolean({
      default: false,
      description:
        'For type jwt: remove the Authorization header that carried the token before the upstream (default ' +
        'false: an upstream may read its claims). An API key is always removed.',
    }),
    end_at_token_expiry: Type.Boolean({
      default: false,
      description:
        'For type jwt: a WebSocket connection, gRPC stream or long response ends when the token that opened it ' +
        'expires (exp plus clock_tolerance_s): close 1008, or 401 GW_ERR_TOKEN_EXPIRED (UNAUTHENTICATED) when no ' +
        'answer had begun. Default false: a token is checked when the request is made, as in Kong and Envoy.',
    }),
    app_header: HeaderName(
      'x-tollgate-app-id',
      'Header that carries the authenticated app id upstream; a client-sent copy is always removed',
    ),
    anonymous_paths: Type.Array(Type.String({ pattern: '^/' }), {
      default: [],
      maxItems: 1000,
      description: 'Paths that skip authentication: exact, or a prefix when ending in `*` (default []).',
    }),
    clock_tolerance_s: Type.Integer({
      minimum: 0,
      maximum: 300,
      default: 5,
      description: 'Allowed clock skew for exp and nbf, seconds (default 5).',
    }),
    websocket: Type.Optional(
      Type.Object(
        {
          query_param: Type.Optional(
            Type.String({
              pattern: '^[A-Za-z0-9_.~-]{1,64}$',
              description: 'A query parameter that may carry the token or API key; taken out before the upstream.',
            }),
          ),
          cookie: Type.Optional(
            Type.String({ pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$", description: 'A cookie that may carry it.' }),
          ),
          subprotocol_prefix: Type.Optional(
            Type.String({
              pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$",
              description:
                'An offered Sec-WebSocket-Protocol `<prefix><credential>` may carry it; taken out of the list the ' +
                'upstream chooses from.',
            }),
          ),
        },
        {
          additionalProperties: false,
          description:
            'Where a WebSocket handshake may carry its credential when the header does not (browsers cannot set ' +
            'headers on a WebSocket); tried in this order: query, subprotocol, cookie. For jwt and api_key.',
        },
      ),
    ),
    max_token_bytes: Type.Integer({
      minimum: 256,
      maximum: 65536,
      default: 8192,
      description: 'Longer tokens are refused without parsing (default 8192).',
    }),
  },
  { additionalProperties: false, description: 'Who may call this service: none, JWT, API key or client certificate.' },
);

export const AuthSchema = Type.Optional(AuthObject);
export type AuthConfig = Static<typeof AuthObject>;
