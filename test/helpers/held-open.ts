// What a client holds open through the gateway, for the tests of what ends it: a WebSocket connection and a
// server-sent event feed, and an upstream serving both.
import { createServer, get, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { openWebSocket } from './websocket-client.ts';

/** An upstream with server-sent events that never end on any path, and WebSocket on any path; its URL. */
export async function startFeedAndSocketUpstream(): Promise<{ server: Server; url: string; close(): void }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: first\n\n');
  });
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, () => undefined));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    server,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

/** An open WebSocket connection to `url` (ws:) and the close code it ends with. */
export async function openSocket(url: string, headers: Record<string, string>) {
  const ws = await openWebSocket(url, '', { headers });
  return { ws, closed: new Promise<number>((r) => ws.once('close', (code) => r(code))) };
}

/** A feed response from `url` once its first event came; `done` settles when it ends, whole or cut. */
export function followFeed(url: string, headers: Record<string, string>) {
  return new Promise<{ res: IncomingMessage; done: Promise<unknown> }>((resolve, reject) => {
    get(url, { headers }, (res) => {
      const done = new Promise((settle) => res.once('close', settle));
      res.once('data', () => resolve({ res, done }));
      res.on('error', () => undefined);
    }).once('error', reject);
  });
}
