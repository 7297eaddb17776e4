import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
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
 * With a token, requires `Authorization: Bearer <token>` on every route but the probes, including unknown paths, so
 * a 404 never reveals which routes exist; without one, refuses what a browser could be made to send (tokenless).
 * `token` is read at each request, so a reload that changes admin.token applies to the next request.
 */
export function installAdminAuth(app: FastifyInstance, token: () => string | undefined): void {
  let expected: { token: string; digest: Buffer } | undefined;
  app.addHook('onRequest', async (req, reply) => {
    const current = token();
    if (current === undefined) return tokenless(req, reply);
    if (OPEN_ROUTES.has(`${req.method} ${req.routeOptions.url}`)) return;
    if (expected?.token !== current) expected = { token: current, digest: digest(current) };
    const header = req.headers.authorization ?? '';
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
    if (m && timingSafeEqual(digest(m[1]), expected.digest)) return;
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
async function tokenless(req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
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
}

/**
 * The token a reload leaves the admin API with: the new config's, except that one taken away while the admin
 * listener is on an address other than loopback stays until restart. The config is checked against its own
 * admin.listen, and a new admin.listen waits for a restart: without this, a reload moving the address to loopback
 * and dropping the token would have left the listener where it is, open to all.
 */
export function tokenAfterReload(
  current: string | undefined,
  next: string | undefined,
  host: string,
): { token: string | undefined; kept: boolean } {
  if (next === undefined && current !== undefined && !isLoopback(host)) return { token: current, kept: true };
  return { token: next, kept: false };
}
