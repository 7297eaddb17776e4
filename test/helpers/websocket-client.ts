// A `ws` client for the WebSocket suites: open through a gateway, and one message's round trip.
import { WebSocket } from 'ws';

/**
 * A WebSocket to `path` on the gateway at `baseUrl` (http:// or https://, or already ws:// or wss://), once open;
 * rejects with `status N` when the handshake gets an HTTP answer instead, or with the connection's error.
 */
export function openWebSocket(
  baseUrl: string,
  path: string,
  options: { headers?: Record<string, string>; protocols?: string[] } = {},
): Promise<WebSocket> {
  const ws = new WebSocket(`${baseUrl.replace('http', 'ws')}${path}`, options.protocols ?? [], {
    headers: options.headers,
  });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`status ${res.statusCode}`)));
  });
}

/** Sends `text` and resolves with the next message, as text. */
export async function exchange(ws: WebSocket, text: string): Promise<string> {
  const reply = new Promise<string>((r) => ws.once('message', (data: Buffer) => r(data.toString())));
  ws.send(text);
  return reply;
}
