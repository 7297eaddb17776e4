import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface RawUpstream {
  server: Server;
  port: number;
  url: string;
  /** Request heads received (request line and headers), oldest first. */
  heads: string[];
  close(): Promise<void>;
}

/**
 * A TCP server that speaks just enough HTTP/1.1 to read request heads (and
 * Content-Length bodies) and lets `respond` write whatever bytes it likes —
 * for upstreams that misbehave in ways node:http refuses to. `index` counts
 * requests across all connections from 0.
 */
export async function startRawUpstream(
  respond: (socket: Socket, head: string, index: number) => void,
): Promise<RawUpstream> {
  const heads: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end === -1) return;
        const head = buf.subarray(0, end).toString('latin1');
        const cl = /\r\ncontent-length:\s*(\d+)/i.exec(head);
        const total = end + 4 + (cl ? Number(cl[1]) : 0);
        if (buf.length < total) return;
        buf = buf.subarray(total);
        heads.push(head);
        respond(socket, head, heads.length - 1);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    url: `http://127.0.0.1:${port}`,
    heads,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

export { closedPort } from './ports.ts';
