import {
  createRemoteJWKSet,
  decodeJwt,
  errors as joseErrors,
  importJWK,
  jwtVerify,
  type CryptoKey,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import type { Identity } from '../../../control/apps/types.ts';
import { stateOf, type Runtime } from '../../runtime.ts';
import type { TokensConfig } from '../token-endpoint/schema.ts';
import { SIGNING_ALGORITHMS } from '../token-endpoint/algorithms.ts';
import type { AuthConfig } from './schema.ts';
import { isAppIdText } from './app-id-text.ts';

interface Issuer {
  getKey: JWTVerifyGetKey;
  audience: string[];
  algorithms: string[];
  appClaim: string;
  requireApp: boolean;
  maxAgeMs: number;
}

export interface JwtPolicy {
  gateway: { issuer: string; audience: string } | undefined;
  issuers: Map<string, Issuer>;
  toleranceS: number;
  runtime: Runtime;
}

export type JwtResult =
  | { ok: true; appId: string; untilMs: number; expiresMs: number; kid: string; appOptional: boolean }
  | { ok: false; code: 'GW_ERR_TOKEN_INVALID' | 'GW_ERR_TOKEN_EXPIRED'; reason: string };

/**
 * Remote key sets live as long as the process (per URL, cooldown and max
 * age), so a reload does not refetch them; jose caches the keys, refetches
 * keys older than the max age before verifying, refetches on an unknown kid
 * (an issuer's key rotation, at most once per cooldown) and bounds each fetch
 * with a timeout.
 */
function remoteKeys(runtime: Runtime, url: string, cooldownMs: number, maxAgeMs: number): JWTVerifyGetKey {
  const sets = stateOf(runtime, 'authenticate:jwks', () => new Map<string, JWTVerifyGetKey>());
  const id = `${cooldownMs} ${maxAgeMs} ${url}`;
  let set = sets.get(id);
  if (!set) {
    set = createRemoteJWKSet(new URL(url), {
      timeoutDuration: 2000,
      cooldownDuration: cooldownMs,
      cacheMaxAge: maxAgeMs,
    });
    sets.set(id, set);
  }
  return set;
}

export function compileJwtPolicy(auth: AuthConfig, tokens: TokensConfig, runtime: Runtime): JwtPolicy {
  const issuers = new Map<string, Issuer>();
  for (const i of auth.issuers) {
    issuers.set(i.issuer, {
      getKey: remoteKeys(runtime, i.jwks_url, i.jwks_cooldown_ms, i.jwks_max_age_ms),
      audience: i.audience,
      algorithms: i.algorithms,
      appClaim: i.app_claim,
      requireApp: i.require_app,
      maxAgeMs: i.jwks_max_age_ms,
    });
  }
  return {
    gateway: auth.gateway_tokens ? { issuer: tokens.issuer, audience: tokens.audience } : undefined,
    issuers,
    toleranceS: auth.clock_tolerance_s,
    runtime,
  };
}

/** Imported gateway public keys by kid; typed by their own alg, so an HS* header can never select one. */
function gatewayKey(runtime: Runtime, identity: Identity, kid: unknown, alg: unknown): Promise<CryptoKey> {
  const jwk = typeof kid === 'string' ? identity.publicKeys.find((k) => k.kid === kid) : undefined;
  if (!jwk) throw new joseErrors.JWKSNoMatchingKey('no gateway key with this kid');
  if (jwk.alg !== alg) throw new joseErrors.JOSEAlgNotAllowed('alg does not match the key');
  const keys = stateOf(runtime, 'authenticate:gateway-keys', () => new Map<string, Promise<CryptoKey>>());
  let key = keys.get(jwk.kid);
  if (!key) {
    if (keys.size >= 64) keys.clear();
    key = importJWK(jwk as unknown as Record<string, unknown>, jwk.alg) as Promise<CryptoKey>;
    keys.set(jwk.kid, key);
  }
  return key;
}

/**
 * A token in the JWS compact serialization (RFC 7515 7.1): three base64url parts and nothing else. jose decodes each
 * part leniently (whitespace inside is skipped), so without this a token with spaces, tabs or a CR LF in it (from a
 * WebSocket's query parameter, decoded) verified as the token without them, and went upstream in a header Node will
 * not send.
 */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/**
 * Verifies a token on a cache miss. `iss` picks the key source (gateway keys
 * or one configured issuer) before anything is trusted; `iss`, `aud` and
 * `exp` are required, `nbf` honoured, algorithms limited to asymmetric ones.
 */
export async function verifyJwt(policy: JwtPolicy, token: string): Promise<JwtResult> {
  if (!COMPACT_JWS.test(token)) return { ok: false, code: 'GW_ERR_TOKEN_INVALID', reason: 'malformed' };
  let claims: JWTPayload;
  try {
    claims = decodeJwt(token);
  } catch {
    return { ok: false, code: 'GW_ERR_TOKEN_INVALID', reason: 'malformed' };
  }
  const iss = claims.iss;
  const identity = policy.runtime.identity;
  try {
    if (policy.gateway && iss === policy.gateway.issuer) {
      let kid = '';
      const { payload } = await jwtVerify(
        token,
        (header) => {
          kid = String(header.kid);
          return gatewayKey(policy.runtime, identity, header.kid, header.alg);
        },
        {
          issuer: policy.gateway.issuer,
          audience: policy.gateway.audience,
          algorithms: [...SIGNING_ALGORITHMS],
          clockTolerance: policy.toleranceS,
          requiredClaims: ['exp', 'sub'],
        },
      );
      return {
        ok: true,
        appId: payload.sub!,
        untilMs: (payload.exp! + policy.toleranceS) * 1000,
        expiresMs: (payload.exp! + policy.toleranceS) * 1000,
        kid,
        appOptional: false,
      };
    }
    const issuer = typeof iss === 'string' ? policy.issuers.get(iss) : undefined;
    if (!issuer) return { ok: false, code: 'GW_ERR_TOKEN_INVALID', reason: 'unknown issuer' };
    const { payload } = await jwtVerify(token, issuer.getKey, {
      issuer: iss,
      audience: issuer.audience,
      algorithms: issuer.algorithms,
      clockTolerance: policy.toleranceS,
      requiredClaims: ['exp'],
    });
    const appId = payload[issuer.appClaim];
    if (typeof appId !== 'string' || appId.length === 0 || appId.length > 256)
      return { ok: false, code: 'GW_ERR_TOKEN_INVALID', reason: `no ${issuer.appClaim} claim` };
    if (!isAppIdText(appId))
      return { ok: false, code: 'GW_ERR_TOKEN_INVALID', reason: `${issuer.appClaim} claim is not printable ASCII` };
    // Cached no longer than its keys are trusted: verified again then, against keys refetched if as old, so a
    // key the issuer withdrew (its private key leaked) stops opening the door long before its tokens expire.
    return {
      ok: true,
      appId,
      untilMs: Math.min((payload.exp! + policy.toleranceS) * 1000, Date.now() + issuer.maxAgeMs),
      expiresMs: (payload.exp! + policy.toleranceS) * 1000,
      kid: '',
      appOptional: !issuer.requireApp,
    };
  } catch (err) {
    if (err instanceof joseErrors.JWTExpired) return { ok: false, code: 'GW_ERR_TOKEN_EXPIRED', reason: 'expired' };
    return { ok: false, code: 'GW_ERR_TOKEN_INVALID', reason: (err as { code?: string }).code ?? 'invalid' };
  }
}
