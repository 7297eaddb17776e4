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
 * What is wrong with a WebSocket handshake the listener took (RFC 6455 4.1, 4.4), or undefined: it must be a GET
 * with a 16-byte Sec-WebSocket-Key, and Sec-WebSocket-Version 13 (anything else gets 426 naming 13).
 */
export function badHandshake(req: IncomingMessage): [ErrorCode, Record<string, string>?] | undefined {
  if (req.method !== 'GET') return ['GW_ERR_WEBSOCKET_HANDSHAKE'];
  const key = req.headers['sec-websocket-key'];
  if (key === undefined || !KEY.test(key)) return ['GW_ERR_WEBSOCKET_HANDSHAKE'];
  if (req.headers['sec-websocket-version'] !== '13')
    return ['GW_ERR_WEBSOCKET_VERSION', { 'sec-websocket-version': '13' }];
  return undefined;
}
