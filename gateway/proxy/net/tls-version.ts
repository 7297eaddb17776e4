import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';

/** The TLS version of a client connection as Node names it ('TLSv1.3'), '' for plaintext. For an HTTP/2 request
 * pass req.socket: Node's proxy of the session's socket answers `encrypted` and getProtocol() from it. */
export function tlsVersionOf(socket: Socket): string {
  return (socket as TLSSocket).encrypted === true ? ((socket as TLSSocket).getProtocol() ?? '') : '';
}
