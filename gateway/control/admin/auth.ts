import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
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
