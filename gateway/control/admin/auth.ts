import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { hostOf } from '../../proxy/stages/route-match/index.ts';
import { isLoopback } from './loopback.ts';
import { sendError } from './replies.ts';

/**
 * Probes must work without credentials (load balancers, orchestrators); so must the console's files, which hold
 * no data: it asks for the token and sends it with every API call.
 */
const OPEN_ROUTES = new Set(
  ['/healthz', '/readyz', '/console', '/console/*'].flatMap((path) => [`GET ${path}`, `HEAD ${path}`]),
);

/** Hashing first gives equal-length inputs, so the compare leaks neither content nor length. */
function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/**
 * Requires `Authorization: Bearer <token>` on every route but the probes,
 * including unknown paths, so a 404 never reveals which routes exist.
 */
export function installBearerAuth(app: FastifyInstance, token: string): void {
  const expected = digest(token);
  app.addHook('onRequest', async (req, reply) => {
    if (OPEN_ROUTES.has(`${req.method} ${req.routeOptions.url}`)) return;
    const header = req.headers.authorization ?? '';
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
    if (m && timingSafeEqual(digest(m[1]), expected)) return;
    reply.header('www-authenticate', 'Bearer realm="tollgate-admin"');
    const message = header === '' ? 'missing Authorization: Bearer <token> header' : 'invalid admin bearer token';
    return sendError(reply, 'GW_ERR_ADMIN_UNAUTHORIZED', message);
  });
}

/**
 * Without a token, the admin API answers whoever reaches it, so it refuses what a web page the operator happens to
 * visit could make a browser send: a request with an `Origin` other than the admin's own (a cross-site POST without
 * a body needs no preflight: /keys/rotate, /apps/:id/secret), and one whose Host is a name rather than localhost or
 * a loopback address (DNS rebinding: a page whose name comes to resolve to 127.0.0.1 is then same-origin with the
 * admin API, and reads and writes it all). curl and the CLI send no Origin; the console's requests carry the
 * admin's origin. With a token neither can do anything (a page cannot send the token), so a proxy in front may
 * pass any Host.
 */
export function installTokenlessChecks(app: FastifyInstance): void {
  app.addHook('onRequest', async (req, reply) => {
    const host = req.headers.host;
    const origin = req.headers.origin;
    if (origin !== undefined) {
      let sameOrigin = false;
      try {
        sameOrigin = host !== undefined && new URL(origin).host === host.toLowerCase();
      } catch {}
      if (!sameOrigin) return sendError(reply, 'GW_ERR_ADMIN_FORBIDDEN', `requests from ${origin} are refused`);
    }
    if (host !== undefined && !isLoopback(hostOf(host)))
      return sendError(
        reply,
        'GW_ERR_ADMIN_FORBIDDEN',
        'without admin.token the admin API answers only requests to localhost or a loopback address',
      );
  });
}
