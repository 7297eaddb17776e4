import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { ErrorCode } from '../../errors.ts';

/** `websocket` as a protocol name in an Upgrade list (RFC 6455 4.1: case-insensitive), with or without a version. */
const WEBSOCKET = /(?:^|[\s,])websocket(?:\/[^\s,]*)?\s*(?:,|$)/i;

/** The Upgrade header asks for WebSocket. */
export function asksForWebSocket(upgrade: string | undefined): boolean {
  return upgrade !== undefined && WEBSOCKET.test(upgrade);
}

/** A nonce of 16 bytes in base64 (RFC 6455 4.1). */
const KEY = /^[A-Za-z0-9+/]{22}==$/;

/**
 * What is wrong with a WebSocket handshake the listener took (RFC 6455 4.1, 4.4), or undefined: it must be an
 * HTTP/1.1 GET (an HTTP/1.0 server ignores Upgrade, RFC 9110 7.8, so an upstream could answer it as a plain GET)
 * with a 16-byte Sec-WebSocket-Key, and Sec-WebSocket-Version 13 (anything else gets 426 naming 13).
 */
export function badHandshake(req: IncomingMessage): [ErrorCode, Record<string, string>?] | undefined {
  if (req.method !== 'GET' || req.httpVersion === '1.0') return ['GW_ERR_WEBSOCKET_HANDSHAKE'];
  const key = req.headers['sec-websocket-key'];
  if (key === undefined || !KEY.test(key)) return ['GW_ERR_WEBSOCKET_HANDSHAKE'];
  if (req.headers['sec-websocket-version'] !== '13')
    return ['GW_ERR_WEBSOCKET_VERSION', { 'sec-websocket-version': '13' }];
  return undefined;
}

/** RFC 6455 1.3: what a server appends to the client's key before hashing it into Sec-WebSocket-Accept. */
const ACCEPT_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/**
 * The upstream's 101 really switched to WebSocket (RFC 6455 4.1, what a client must check): its Upgrade is
 * `websocket` and its Sec-WebSocket-Accept answers `key`. Anything else is no WebSocket: a 101 to another protocol
 * (h2c), or one a non-WebSocket endpoint was made to send, would leave a raw tunnel to the upstream through which the
 * client could send requests to any path, past routing and every stage (the "WebSocket smuggling" class).
 */
export function switchedToWebSocket(res: IncomingMessage, key: string): boolean {
  const upgrade = res.headers.upgrade;
  if (upgrade === undefined || upgrade.trim().toLowerCase() !== 'websocket') return false;
  return (
    res.headers['sec-websocket-accept'] ===
    createHash('sha1')
      .update(key + ACCEPT_GUID)
      .digest('base64')
  );
}
