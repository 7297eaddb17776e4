import { websocketCredential } from './websocket.ts';
import type { RequestContext } from '../../context.ts';
import type { RouteStage, StageResult } from '../../pipeline.ts';
import type { ErrorCode } from '../../../errors.ts';
import type { App } from '../../../control/apps/types.ts';
import { CredentialCache, RETRY_SOON, type Verified } from '../../../control/apps/credentials.ts';
import { authState, policyId, type AuthCode, type AuthState, type VerifiedToken } from './metrics.ts';
import { compileJwtPolicy, verifyJwt, type JwtPolicy } from './jwt.ts';
import type { AuthConfig } from './schema.ts';
import { appHeaderOf } from './app-header.ts';
import { mtlsHandler } from './mtls.ts';
import { clientKey } from '../../net/ip.ts';

/** Constant header objects: a rejection allocates nothing for them. */
const BEARER_CHALLENGE = { 'www-authenticate': 'Bearer realm="tollgate"' };
const BEARER_INVALID = { 'www-authenticate': 'Bearer realm="tollgate", error="invalid_token"' };

interface Compiled {
  service: string;
  appHeader: string;
  anonymous: ((path: string) => boolean) | undefined;
  state: AuthState;
  /** auth.end_at_token_expiry: what a token let in is held to its expiry (RequestContext.withdrawn). */
  endAtTokenExpiry?: boolean;
}

function anonymousMatcher(paths: string[]): Compiled['anonymous'] {
  if (paths.length === 0) return undefined;
  const exact = new Set(paths.filter((p) => !p.endsWith('*')));
  const prefixes = paths.filter((p) => p.endsWith('*')).map((p) => p.slice(0, -1));
  return (path) => {
    if (exact.has(path)) return true;
    for (const p of prefixes) if (path.startsWith(p)) return true;
    return false;
  };
}

function reject(c: Compiled, ctx: RequestContext, code: AuthCode, headers?: Record<string, string>): false {
  c.state.rejections.inc({ service: c.service, code });
  return ctx.reply(code, headers);
}

function accept(c: Compiled, ctx: RequestContext, appId: string, app: App | undefined): undefined {
  ctx.appId = appId;
  ctx.app = app;
  ctx.headers[c.appHeader] = appId;
  return undefined;
}

/** Drops a client-sent copy of the app header, so only the gateway can say who the caller is. */
function stripAppHeader(c: Compiled, ctx: RequestContext): void {
  if (ctx.headers[c.appHeader] !== undefined) delete ctx.headers[c.appHeader];
}

/** Re-checks a cached token against the current identity: the app may have been disabled, deleted, or the key dropped.
 * */
function recheck(e: VerifiedToken, ctx: RequestContext, c: Compiled): StageResult {
  const identity = ctx.route!.runtime.identity;
  const app = identity.apps.get(e.appId);
  if (e.version !== identity.version) {
    if (e.kid !== '' && !identity.publicKeys.some((k) => k.kid === e.kid))
      return reject(c, ctx, 'GW_ERR_TOKEN_INVALID', BEARER_INVALID);
    if (app === undefined && !e.appOptional) return reject(c, ctx, 'GW_ERR_TOKEN_INVALID', BEARER_INVALID);
    e.version = identity.version;
  }
  if (app !== undefined && app.status !== 'enabled') {
    ctx.appId = e.appId;
    return reject(c, ctx, 'GW_ERR_APP_DISABLED');
  }
  if (c.endAtTokenExpiry) ctx.tokenUntilMs = e.expiresMs;
  return accept(c, ctx, e.appId, app);
}

/**
 * The token cache's key: the header's last 32 characters, the end of the
 * token's signature. A Map lookup hashes its key, and the header is a fresh
 * string on every request, so keying by the whole ~400-character value cost
 * ~4,600 instructions per request in hashing alone (callgrind). The entry
 * keeps the whole value, and a hit must equal it.
 */
const CACHE_KEY_CHARS = 32;
const cacheKey = (authz: string): string => (authz.length > CACHE_KEY_CHARS ? authz.slice(-CACHE_KEY_CHARS) : authz);

function jwtHandler(c: Compiled, policy: JwtPolicy, policyNo: number, maxBytes: number, hide: boolean) {
  const cache = c.state.tokens;
  const miss = async (ctx: RequestContext, authz: string, key: string): Promise<void | false> => {
    const r = await verifyJwt(policy, authz.slice(7));
    if (!r.ok) return reject(c, ctx, r.code, BEARER_INVALID);
    const e: VerifiedToken = {
      authz,
      appId: r.appId,
      untilMs: r.untilMs,
      expiresMs: r.expiresMs,
      policy: policyNo,
      kid: r.kid,
      appOptional: r.appOptional,
      version: -1,
    };
    cache.set(key, e);
    return recheck(e, ctx, c);
  };
  return (ctx: RequestContext): StageResult => {
    stripAppHeader(c, ctx);
    const authz = ctx.headers.authorization;
    if (hide && authz !== undefined) delete ctx.headers.authorization; // auth.hide_credentials
    if (c.anonymous?.(ctx.path)) return undefined;
    if (authz === undefined || authz.length < 8 || !(authz.startsWith('Bearer ') || /^bearer /i.test(authz))) {
      return reject(c, ctx, 'GW_ERR_UNAUTHORIZED', BEARER_CHALLENGE);
    }
    if (authz.length - 7 > maxBytes) return reject(c, ctx, 'GW_ERR_TOKEN_INVALID', BEARER_INVALID);
    const key = cacheKey(authz);
    const e = cache.get(key);
    // A hit answers synchronously: no promise, no tick. It must be the very header verified, not just its key.
    if (e !== undefined && e.policy === policyNo && e.authz === authz) {
      if (e.untilMs > Date.now()) return recheck(e, ctx, c);
      cache.delete(key);
    }
    return miss(ctx, authz, key);
  };
}

function apiKeyHandler(c: Compiled, header: string) {
  const creds = c.state.credentials;
  const miss = async (ctx: RequestContext, appId: string, secret: string, key: string): Promise<void | false> => {
    const runtime = ctx.route!.runtime;
    const found = await creds.verify(() => runtime.identity, appId, secret, key, clientKey(ctx.clientIp, 64));
    if (found === 'busy') return reject(c, ctx, 'GW_ERR_AUTH_BUSY', RETRY_SOON);
    return found === undefined ? reject(c, ctx, 'GW_ERR_API_KEY_INVALID') : enabled(ctx, found);
  };
  /** Credentials that hold as of the identity now (CredentialCache.hit): their app, if enabled, is let in. */
  const enabled = (ctx: RequestContext, verified: Verified): StageResult => {
    const appId = verified.appId;
    const app = ctx.route!.runtime.identity.apps.get(appId);
    if (app === undefined) return reject(c, ctx, 'GW_ERR_API_KEY_INVALID');
    if (app.status !== 'enabled') {
      ctx.appId = appId;
      return reject(c, ctx, 'GW_ERR_APP_DISABLED');
    }
    // What a connection or stream that outlives this request is held to (RequestContext.withdrawn).
    ctx.secretHash = verified.hash;
    ctx.credentialUntilMs = verified.expiresAt;
    return accept(c, ctx, appId, app);
  };
  return (ctx: RequestContext): StageResult => {
    stripAppHeader(c, ctx);
    const value = ctx.headers[header];
    // A key is a long-lived secret the upstream cannot check (it gets the app header): it never goes on, so no
    // service's logs hold every tenant's key.
    if (value !== undefined) delete ctx.headers[header];
    if (c.anonymous?.(ctx.path)) return undefined;
    if (typeof value !== 'string' || value.length === 0) return reject(c, ctx, 'GW_ERR_UNAUTHORIZED');
    const dot = value.indexOf('.');
    if (dot < 1 || value.length > 256) return reject(c, ctx, 'GW_ERR_API_KEY_INVALID');
    const appId = value.slice(0, dot);
    const secret = value.slice(dot + 1);
    const identity = ctx.route!.runtime.identity;
    // An unknown app id goes the way a wrong secret does (creds.verify runs a decoy scrypt), so how fast it is
    // refused does not tell which app ids exist.
    const key = CredentialCache.key(appId, secret);
    const verified = creds.hit(identity, key, Date.now());
    if (verified !== undefined) return enabled(ctx, verified);
    return miss(ctx, appId, secret, key);
  };
}

/**
 * Authenticate the app per service: JWT (gateway-issued or external issuers), an API key or a client
 * certificate; `none` only strips the app header.
 */
export const authenticate: RouteStage = {
  name: 'authenticate',
  scope: 'route',
  init: (route) => {
    const auth: AuthConfig | undefined = route.service.config.auth;
    const appHeader = appHeaderOf(auth);
    if (!auth || auth.type === 'none') {
      // Nothing to check, but a client must still not be able to name an app upstream.
      return (ctx) => {
        if (ctx.headers[appHeader] !== undefined) delete ctx.headers[appHeader];
      };
    }
    const tokens = route.snapshotConfig.tokens;
    // The cors stage, before this one, refuses WebSocket handshakes from origins the service does not allow; with
    // `*` it allows every origin, which lets no one off the cookie's own-origin rule.
    const origins = route.service.config.cors?.allow_origins;
    const cors = origins !== undefined && !origins.includes('*');
    const c: Compiled = {
      service: route.service.name,
      appHeader,
      anonymous: anonymousMatcher(auth.anonymous_paths),
      state: authState(route.runtime, tokens.cache_size),
    };
    if (auth.type === 'api_key') {
      const header = auth.api_key_header.toLowerCase();
      const fill = websocketCredential(auth.websocket, header, false, cors);
      return withWebSocketCredential(apiKeyHandler(c, header), fill);
    }
    if (auth.type === 'mtls') {
      const handler = mtlsHandler(auth.mtls, {
        accept: (ctx, appId, app) => accept(c, ctx, appId, app),
        reject: (ctx, code) => reject(c, ctx, code),
      });
      return (ctx) => {
        stripAppHeader(c, ctx);
        return c.anonymous?.(ctx.path) ? undefined : handler(ctx);
      };
    }
    c.endAtTokenExpiry = auth.end_at_token_expiry;
    const fingerprint = JSON.stringify([route.service.name, auth, tokens.issuer, tokens.audience]);
    const jwt = jwtHandler(
      c,
      compileJwtPolicy(auth, tokens, route.runtime),
      policyId(c.state, fingerprint),
      auth.max_token_bytes,
      auth.hide_credentials,
    );
    return withWebSocketCredential(jwt, websocketCredential(auth.websocket, 'authorization', true, cors));
  },
};

/**
 * `check`, preceded for a WebSocket handshake by taking its credential from where a browser can put it; refused when
 * that place may not be read for this handshake (a cookie from another origin).
 */
function withWebSocketCredential(
  check: (ctx: RequestContext) => StageResult,
  fill: ((ctx: RequestContext) => ErrorCode | undefined) | undefined,
): (ctx: RequestContext) => StageResult {
  if (fill === undefined) return check;
  return (ctx) => {
    const refused = fill(ctx);
    return refused === undefined ? check(ctx) : ctx.reply(refused);
  };
}
