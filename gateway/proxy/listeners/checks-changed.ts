import type { Server as HttpServer, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { type ListenerTls, sessionIdContext } from './certificates.ts';

/**
 * Marks a client connection (an HTTP/1.1 socket, an HTTP/2 session) that its listener let in under client-certificate
 * checks that have changed since (a new CRL, a new CA): what it carries for long, a WebSocket tunnel, ends at the
 * tunnel's next sweep, as its requests end once answered (ProxyListeners, websocket/open-tunnel.ts).
 */
export const CHECKS_CHANGED = Symbol('client certificate checks changed');

export type Markable = object & { [CHECKS_CHANGED]?: true };

export function markChecksChanged(connection: object): void {
  (connection as Markable)[CHECKS_CHANGED] = true;
}

/** Whether a tunnel's client side (a socket, or an HTTP/2 stream of a session) was marked. */
export function checksChanged(client: object): boolean {
  const session = (client as { session?: object }).session;
  return (client as Markable)[CHECKS_CHANGED] === true || (session as Markable | undefined)?.[CHECKS_CHANGED] === true;
}

/** What a listener's (or stream's) client-certificate checks are, as sessions are bound to them (sessionIdContext). */
export function clientChecksOf(tls: object | undefined): string {
  const t = tls as ListenerTls | undefined;
  return t === undefined ? '' : sessionIdContext(t, t.pem ?? { certificates: [] });
}

/**
 * Ends an HTTP/1.1 server's connections once they have answered what they are answering, its client-certificate
 * checks having changed (endAfterAnswers), each marked so that a WebSocket tunnel on it closes too.
 * `sockets`: the server's connections.
 */
export function reconnectHttp1(server: HttpServer | undefined, sockets: Iterable<Socket>): void {
  for (const socket of sockets) markChecksChanged(socket); // a WebSocket tunnel on it closes (1008)
  endAfterAnswers(server, sockets);
}

/**
 * Ends an HTTP/1.1 server's connections once they have answered what they are answering: idle ones now, a busy one
 * with `Connection: close` on its answer (or, its head sent, right after it). A WebSocket tunnel is no longer the
 * server's connection and carries on.
 */
export function endAfterAnswers(server: HttpServer | undefined, sockets: Iterable<Socket>): void {
  server?.closeIdleConnections();
  for (const socket of sockets) {
    const res = (socket as { _httpMessage?: ServerResponse | null })._httpMessage;
    if (res == null) continue;
    if (!res.headersSent) res.shouldKeepAlive = false;
    else res.once('finish', () => socket.end());
  }
}
