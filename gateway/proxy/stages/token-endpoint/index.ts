import type { RequestContext } from '../../context.ts';
import type { EdgeStage, Handler } from '../../pipeline.ts';
import type { Snapshot } from '../../snapshot.ts';
import type { Identity } from '../../../control/apps/types.ts';
import { CredentialCache, RETRY_SOON } from '../../../control/apps/credentials.ts';
import { type ErrorCode, errors } from '../../../errors.ts';
import { authState, type AuthState } from '../authenticate/metrics.ts';
import type { Runtime } from '../../runtime.ts';
import { issueToken } from './issue.ts';
import { wholeBodyDeadline } from '../body-deadline.ts';
import type { TokensConfig } from './schema.ts';
import { clientKey } from '../../net/ip.ts';

const BASIC_CHALLENGE = { 'www-authenticate': 'Basic realm="tollgate"' };
const CLOSE = { connection: 'close' };

/** True when the request target is exactly `path` (with or without a query). */
function targets(url: string, path: string): boolean {
  return url.startsWith(path) && (url.length === path.length || url.charCodeAt(path.length) === 63) /* ? */;
}

function send(ctx: RequestContext, status: number, body: string, cacheControl: string): false {
  const length = Buffer.byteLength(body);
  ctx.res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': length,
    'cache-control': cacheControl,
    'x-request-id': ctx.requestId,
  });
  ctx.bytesOut = length; // before end(), which records the access event
  ctx.res.end(ctx.req.method === 'HEAD' ? undefined : body);
  return false;
}

/** JWKS JSON, rebuilt only when the identity changes. */
function jwks(runtime: Runtime, memo: { version: number; body: string }): string {
  const identity = runtime.identity;
  if (memo.version !== identity.version) {
    memo.body = JSON.stringify({ keys: identity.publicKeys });
    memo.version = identity.version;
  }
  return memo.body;
}

/**
 * The body, at most `max` bytes; undefined when larger (the caller answers 413); null when the client left;
 * 'timeout' when an HTTP/2 body is not in within proxy.request_timeout_ms (body-deadline.ts).
 */
function readBody(ctx: RequestContext, max: number): Promise<string | undefined | null | 'timeout'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const req = ctx.req;
    ctx.continueBody();
    // Resolving twice is a no-op: whichever comes first decides.
    const cancelDeadline = wholeBodyDeadline(ctx, () => resolve('timeout'));
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        cancelDeadline();
        req.removeAllListeners('data');
        req.resume();
        resolve(undefined);
        return;
      }
      chunks.push(c);
    });
    req.once('end', () => {
      cancelDeadline();
      ctx.bytesIn = size;
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    req.once('error', reject);
    // A close after the end changes nothing.
    req.once('close', () => {
      cancelDeadline();
      if (!req.complete) resolve(null);
    });
  });
}

/** `app_id:secret` from HTTP Basic (RFC 6749 2.3.1: each part form-urlencoded), or from the form body. */
function clientCredentials(
  header: string | undefined,
  form: URLSearchParams,
): { id: string; secret: string } | undefined {
  if (header !== undefined) {
    const m = /^basic +([A-Za-z0-9+/=_-]{1,1024}) *$/i.exec(header);
    if (!m) return undefined;
    const text = Buffer.from(m[1], 'base64').toString('utf8');
    const colon = text.indexOf(':');
    if (colon < 1) return undefined;
    try {
      return { id: decodeURIComponent(text.slice(0, colon)), secret: decodeURIComponent(text.slice(colon + 1)) };
    } catch {
      return undefined;
    }
  }
  const id = form.get('client_id');
  const secret = form.get('client_secret');
  return id && secret ? { id, secret } : undefined;
}

/**
 * The OAuth error (RFC 6749 5.2) each refusal carries beside the gateway's code, so that OAuth client libraries read
 * it as the protocol's error rather than a response they do not understand. The status stays the gateway's.
 */
const OAUTH_ERRORS: Partial<Record<ErrorCode, string>> = {
  GW_ERR_TOKEN_REQUEST_INVALID: 'invalid_request',
  GW_ERR_BODY_TOO_LARGE: 'invalid_request',
  GW_ERR_REQUEST_TIMEOUT: 'invalid_request',
  GW_ERR_CLIENT_AUTH_FAILED: 'invalid_client',
  GW_ERR_APP_DISABLED: 'unauthorized_client',
  GW_ERR_AUTH_BUSY: 'temporarily_unavailable',
  GW_ERR_INTERNAL: 'server_error',
};

function fail(
  ctx: RequestContext,
  state: AuthState,
  code: ErrorCode,
  headers?: Record<string, string>,
  oauthError = OAUTH_ERRORS[code] ?? 'invalid_request',
  description: string = errors[code].message,
): false {
  state.tokenRequests.inc({ result: code });
  return ctx.reply(code, headers, { error: oauthError, error_description: description });
}

/** A parameter given twice, which RFC 6749 3.2 forbids; undefined when there is none. */
function repeated(form: URLSearchParams): string | undefined {
  const seen = new Set<string>();
  for (const name of form.keys()) {
    if (seen.has(name)) return name;
    seen.add(name);
  }
  return undefined;
}

async function tokenRequest(ctx: RequestContext, tokens: TokensConfig, state: AuthState): Promise<void> {
  const runtime = ctx.snapshot.runtime;
  const type = ctx.headers['content-type'];
  if (typeof type !== 'string' || !/^application\/x-www-form-urlencoded(;|$)/i.test(type)) {
    ctx.req.resume();
    fail(ctx, state, 'GW_ERR_TOKEN_REQUEST_INVALID');
    return;
  }
  const declared = Number(ctx.headers['content-length'] ?? 0);
  const body = declared > tokens.max_request_bytes ? undefined : await readBody(ctx, tokens.max_request_bytes);
  if (body === null) return;
  if (body === 'timeout') return void fail(ctx, state, 'GW_ERR_REQUEST_TIMEOUT');
  if (body === undefined) {
    fail(ctx, state, 'GW_ERR_BODY_TOO_LARGE', CLOSE);
    return;
  }
  const form = new URLSearchParams(body);
  const twice = repeated(form);
  if (twice !== undefined) {
    fail(ctx, state, 'GW_ERR_TOKEN_REQUEST_INVALID', undefined, 'invalid_request', `${twice} is given more than once.`);
    return;
  }
  const grant = form.get('grant_type');
  if (grant !== 'client_credentials') {
    const unsupported = grant !== null && grant !== '';
    const error = unsupported ? 'unsupported_grant_type' : 'invalid_request';
    fail(ctx, state, 'GW_ERR_TOKEN_REQUEST_INVALID', undefined, error, 'grant_type must be client_credentials.');
    return;
  }
  // RFC 6749 2.3: one way of authenticating per request.
  if (ctx.headers.authorization !== undefined && form.has('client_secret')) {
    const description = 'The client authenticated twice: with HTTP Basic and with client_secret.';
    fail(ctx, state, 'GW_ERR_TOKEN_REQUEST_INVALID', undefined, 'invalid_request', description);
    return;
  }
  const creds = clientCredentials(ctx.headers.authorization, form);
  if (!creds) {
    fail(ctx, state, 'GW_ERR_CLIENT_AUTH_FAILED', BASIC_CHALLENGE);
    return;
  }
  const key = CredentialCache.key(creds.id, creds.secret);
  let identity: Identity = runtime.identity;
  if (state.credentials.hit(identity, key, Date.now()) === undefined) {
    const client = clientKey(ctx.clientIp, 64);
    const found = await state.credentials.verify(() => runtime.identity, creds.id, creds.secret, key, client);
    if (found === 'busy') {
      fail(ctx, state, 'GW_ERR_AUTH_BUSY', RETRY_SOON);
      return;
    }
    if (found === undefined) {
      fail(ctx, state, 'GW_ERR_CLIENT_AUTH_FAILED', BASIC_CHALLENGE);
      return;
    }
    // Decided on the identity as it is now: it may have changed while scrypt ran.
    identity = runtime.identity;
  }
  const app = identity.apps.get(creds.id);
  if (!app) {
    fail(ctx, state, 'GW_ERR_CLIENT_AUTH_FAILED', BASIC_CHALLENGE);
    return;
  }
  ctx.appId = app.id;
  ctx.app = app;
  if (app.status !== 'enabled') {
    fail(ctx, state, 'GW_ERR_APP_DISABLED');
    return;
  }
  if (!identity.signingKey) {
    fail(ctx, state, 'GW_ERR_INTERNAL');
    return;
  }
  const token = await issueToken(runtime, identity.signingKey, tokens, app.id);
  state.tokenRequests.inc({ result: 'issued' });
  send(ctx, 200, JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: tokens.ttl_s }), 'no-store');
}

interface TokenEndpoints {
  /** The edge stage's: the request target is an endpoint's path as sent, with or without a query. */
  byTarget: Handler;
  /**
   * route-match's, for a request whose target became an endpoint's path only once read as routing reads it
   * (absolute-form, or made canonical: `/oauth//token`, `/%6Fauth/token`, `/x/../oauth/token`). Such a request went
   * to whichever route took `/`, the client's secret with it, while routing, events and reports called it
   * `/oauth/token`.
   */
  byPath: (ctx: RequestContext) => false | undefined;
}

const built = new WeakMap<Snapshot, TokenEndpoints | null>();

/** The token and JWKS endpoints of a snapshot's config; undefined while `tokens.enabled` is false. */
export function tokenEndpoints(snapshot: Snapshot): TokenEndpoints | undefined {
  let endpoints = built.get(snapshot);
  if (endpoints === undefined) {
    endpoints = build(snapshot) ?? null;
    built.set(snapshot, endpoints);
  }
  return endpoints ?? undefined;
}

function build(snapshot: Snapshot): TokenEndpoints | undefined {
  const tokens = snapshot.config.tokens;
  if (!tokens.enabled) return undefined;
  const state = authState(snapshot.runtime, tokens.cache_size);
  const memo = { version: -1, body: '' };
  const onError = (ctx: RequestContext, err: unknown) => {
    snapshot.runtime.log.error({ err, request_id: ctx.requestId }, 'token endpoint failed');
    if (!ctx.res.headersSent) fail(ctx, state, 'GW_ERR_INTERNAL');
  };
  const answerJwks = (ctx: RequestContext): false | undefined => {
    const m = ctx.req.method;
    if (m !== 'GET' && m !== 'HEAD') return undefined;
    return send(ctx, 200, jwks(snapshot.runtime, memo), 'public, max-age=60');
  };
  const answerToken = (ctx: RequestContext): false => {
    if (ctx.req.method !== 'POST') {
      ctx.req.resume();
      return fail(ctx, state, 'GW_ERR_TOKEN_REQUEST_INVALID', { allow: 'POST' });
    }
    tokenRequest(ctx, tokens, state).catch((err) => onError(ctx, err));
    return false;
  };
  return {
    byTarget: (ctx) => {
      const url = ctx.req.url;
      if (url === undefined) return undefined;
      if (targets(url, tokens.jwks_path)) return answerJwks(ctx);
      return targets(url, tokens.token_path) ? answerToken(ctx) : undefined;
    },
    byPath: (ctx) => {
      if (ctx.path === tokens.jwks_path) return answerJwks(ctx);
      return ctx.path === tokens.token_path ? answerToken(ctx) : undefined;
    },
  };
}

/**
 * POST /oauth/token (client credentials → a short-lived JWT) and GET
 * /.well-known/jwks.json belong to the gateway, before any route, however their paths are spelt. The token request
 * finishes asynchronously; this edge stage ends the pipeline at once.
 */
export const tokenEndpoint: EdgeStage = {
  name: 'token-endpoint',
  scope: 'edge',
  init: (snapshot): Handler | undefined => tokenEndpoints(snapshot)?.byTarget,
};
