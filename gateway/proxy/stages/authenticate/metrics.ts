import { Counter, Gauge } from 'prom-client';
import { CredentialCache } from '../../../control/apps/credentials.ts';
import { Lru } from '../../lru.ts';
import { stateOf, type Runtime } from '../../runtime.ts';
import type { ErrorCode } from '../../../errors.ts';
import { totalsCounter } from '../../../../shared/totals-counter.ts';

/** What a verified token is remembered as (until exp, re-checked when the identity changes). */
export interface VerifiedToken {
  /** The whole Authorization header it was verified from: a cache hit must be this very value. */
  authz: string;
  appId: string;
  /** Until when the cache may answer for it, epoch ms: its expiry, sooner for an external issuer's (its keys' age). */
  untilMs: number;
  /** exp plus clock tolerance, epoch ms. */
  expiresMs: number;
  /** Compiled auth policy that verified it (tokens accepted by one service are not by another). */
  policy: number;
  /** Kid of the gateway key that signed it; '' for external issuers. */
  kid: string;
  /** An external token whose app need not be registered. */
  appOptional: boolean;
  version: number;
}

/**
 * Per-process auth state, kept in the runtime so reloads keep the caches:
 * verified tokens, verified credentials (API keys and the token endpoint's
 * client secrets), and the counters. Cache hits are counted as plain numbers
 * and handed to prom-client at scrape time, off the request path.
 */
export function authState(runtime: Runtime, cacheSize: number) {
  const s = stateOf(runtime, 'authenticate', () => {
    const tokens = new Lru<string, VerifiedToken>(cacheSize);
    const credentials = new CredentialCache(cacheSize);
    const registers = [runtime.metrics.register];
    const cacheTotal = totalsCounter(
      {
        name: 'tollgate_auth_cache_total',
        help: 'Verified-token and credential cache lookups, by kind (jwt, credentials) and result (hit, miss).',
        labelNames: ['kind', 'result'] as const,
        registers,
      },
      () => [
        [{ kind: 'jwt', result: 'hit' }, tokens.hits],
        [{ kind: 'jwt', result: 'miss' }, tokens.misses],
        [{ kind: 'credentials', result: 'hit' }, credentials.lru.hits],
        [{ kind: 'credentials', result: 'miss' }, credentials.lru.misses],
      ],
    );
    return {
      tokens,
      credentials,
      /** Compiled policies by their config fingerprint, so a reload with the same auth keeps its cached tokens. */
      policies: new Map<string, number>(),
      rejections: new Counter({
        name: 'tollgate_auth_rejections_total',
        help: 'Requests refused by authentication, by service and error code.',
        labelNames: ['service', 'code'] as const,
        registers,
      }),
      tokenRequests: new Counter({
        name: 'tollgate_token_requests_total',
        help: 'Token endpoint requests, by result (issued, or the error code).',
        labelNames: ['result'] as const,
        registers,
      }),
      cacheTotal,
      cacheEntries: new Gauge({
        name: 'tollgate_auth_cache_entries',
        help: 'Entries in the verified-token (jwt) and credential caches.',
        labelNames: ['kind'] as const,
        registers,
        collect() {
          this.set({ kind: 'jwt' }, tokens.size);
          this.set({ kind: 'credentials' }, credentials.lru.size);
        },
      }),
    };
  });
  s.tokens.max = cacheSize;
  s.credentials.lru.max = cacheSize;
  return s;
}

export type AuthState = ReturnType<typeof authState>;

/** A small integer per distinct auth config (bounded by the number of services ever configured). */
export function policyId(state: AuthState, fingerprint: string): number {
  let id = state.policies.get(fingerprint);
  if (id === undefined) {
    if (state.policies.size >= 10000) state.policies.clear();
    id = state.policies.size + 1 + Math.floor(Math.random() * 1e9) * 1e4;
    state.policies.set(fingerprint, id);
  }
  return id;
}

export type AuthCode = Extract<
  ErrorCode,
  | 'GW_ERR_UNAUTHORIZED'
  | 'GW_ERR_TOKEN_INVALID'
  | 'GW_ERR_TOKEN_EXPIRED'
  | 'GW_ERR_API_KEY_INVALID'
  | 'GW_ERR_APP_DISABLED'
  | 'GW_ERR_CLIENT_CERT_REQUIRED'
  | 'GW_ERR_CLIENT_CERT_UNKNOWN'
  | 'GW_ERR_AUTH_BUSY'
>;
