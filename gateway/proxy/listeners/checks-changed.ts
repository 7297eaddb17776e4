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
