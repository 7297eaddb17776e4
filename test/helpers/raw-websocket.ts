import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

/** The headers of a WebSocket handshake over HTTP/1.1, for a client that writes them itself (RFC 6455's sample key). */
export const UPGRADE_HEADERS = {
  upgrade: 'websocket',
  connection: 'upgrade',
  'sec-websocket-version': '13',
  'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
};

/** A WebSocket handshake request for `path`, as a client writes it on a raw connection. */
export const handshake = (path: string): string =>
  `GET ${path} HTTP/1.1\r\nhost: a\r\n` +
  Object.entries(UPGRADE_HEADERS)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('') +
  '\r\n';

/**
 * The headers of a WebSocket handshake over HTTP/2 (RFC 8441 extended CONNECT) for `path`. Without `authority`,
 * Node's client sends its session's.
 */
export const h2Handshake = (path: string, authority?: string, scheme: 'http' | 'https' = 'http') => ({
  ':method': 'CONNECT',
  ':protocol': 'websocket',
  ':scheme': scheme,
  ':path': path,
  ...(authority === undefined ? {} : { ':authority': authority }),
  'sec-websocket-version': '13',
});

/**
 * Accepts a handshake on an upstream's 'upgrade' socket with a bare 101 and no WebSocket library behind it, so a test
 * decides itself what the connection does after (echo, never end, ...).
 */
export function accept(req: IncomingMessage, socket: Socket): void {
  const key = createHash('sha1')
    .update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
    .digest('base64');
  socket.write('HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n');
  socket.write(`sec-websocket-accept: ${key}\r\n\r\n`);
}
