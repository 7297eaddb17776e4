import Type, { type Static } from 'typebox';
import { SIGNING_ALGORITHMS } from './algorithms.ts';

export const TokensSchema = Type.Object(
  {
    enabled: Type.Boolean({
      default: true,
      description: 'Serve POST /oauth/token and GET /.well-known/jwks.json on the proxy listener (default true).',
    }),
    token_path: Type.String({
      pattern: '^/[^?#]*$',
      default: '/oauth/token',
      description: 'Path of the client-credentials token endpoint (default /oauth/token).',
    }),
    jwks_path: Type.String({
      pattern: '^/[^?#]*$',
      default: '/.well-known/jwks.json',
      description: 'Path of the public signing keys (default /.well-known/jwks.json).',
    }),
    issuer: Type.String({
      minLength: 1,
      default: 'tollgate',
      description: '`iss` of gateway-issued tokens (default tollgate).',
    }),
    audience: Type.String({
      minLength: 1,
      default: 'tollgate',
      description: '`aud` of gateway-issued tokens (default tollgate).',
    }),
    ttl_s: Type.Integer({
      minimum: 10,
      maximum: 86400,
      default: 300,
      description: 'Lifetime of an issued token, seconds (default 300).',
    }),
    algorithm: Type.Union(
      SIGNING_ALGORITHMS.map((a) => Type.Literal(a)),
      { default: 'ES256', description: 'Signing algorithm of new gateway keys (default ES256).' },
    ),
    key_rotation_s: Type.Integer({
      minimum: 0,
      default: 604800,
      description:
        'Rotate the signing key when it is older than this, seconds; 0 = only by the admin API (default 604800).',
    }),
    secret_overlap_s: Type.Integer({
      minimum: 0,
      default: 3600,
      description: 'How long a rotated-out app secret keeps working, seconds (default 3600).',
    }),
    max_request_bytes: Type.Integer({
      minimum: 256,
      maximum: 65536,
      default: 4096,
      description: 'Largest token request body; larger gets 413 (default 4096).',
    }),
    cache_size: Type.Integer({
      minimum: 0,
      maximum: 1000000,
      default: 10000,
      description:
        'Verified tokens, API keys and client credentials kept in ' +
        'memory per process; 0 disables the caches (default 10000).',
    }),
  },
  {
    additionalProperties: false,
    default: {},
    description: 'Gateway-issued tokens: the token endpoint, signing keys and credential caches.',
  },
);

export type TokensConfig = Static<typeof TokensSchema>;
