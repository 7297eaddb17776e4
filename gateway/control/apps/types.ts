/**
 * Tenants as the data plane sees them. The control plane (admin API, app
 * store) owns the records and pushes an immutable Identity to every proxy
 * process; stages only read it, so an app disabled or deleted on any node is
 * refused everywhere as soon as the new Identity arrives.
 */

export type AppStatus = 'enabled' | 'disabled';

/** A stored secret: only its hash is kept. A rotated-out secret keeps working until `expiresAt` (epoch ms). */
export interface SecretHash {
  /** Self-describing hash, e.g. `scrypt$<N>$<salt b64url>$<hash b64url>`. */
  hash: string;
  createdAt: number;
  expiresAt?: number;
}

export interface App {
  id: string;
  name: string;
  status: AppStatus;
  secrets: SecretHash[];
  /** CIDRs or addresses the app may call from; empty = any. */
  allowedIps: string[];
  /** Requests per second (token bucket rate; burst = qps unless `burst` is set); undefined = no app limit. */
  qps?: number;
  burst?: number;
  /** Billable requests per day; undefined = no quota. */
  qpd?: number;
  roles: string[];
  createdAt: number;
  updatedAt: number;
}

/** A public signing key as served at /.well-known/jwks.json. */
export interface PublicJwk {
  kid: string;
  kty: string;
  alg: string;
  use: 'sig';
  crv?: string;
  x?: string;
  y?: string;
  n?: string;
  e?: string;
}

/** What every proxy process holds: apps by id and the gateway's signing keys. Replaced whole, never mutated. */
export interface Identity {
  /** Bumped on every change; caches keyed by it (verified tokens, API keys) drop stale entries. */
  version: number;
  apps: ReadonlyMap<string, App>;
  /** Public keys that verify gateway-issued tokens (current and still-valid previous ones). */
  publicKeys: readonly PublicJwk[];
  /** The current private signing key (JWK), for the token endpoint; undefined until keys exist. */
  signingKey?: { kid: string; alg: string; privateJwk: Record<string, unknown> };
}

export const emptyIdentity: Identity = Object.freeze({ version: 0, apps: new Map(), publicKeys: [] });
