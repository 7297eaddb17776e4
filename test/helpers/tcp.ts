// Plain TCP servers and clients for the stream (layer 4) tests.
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface TcpServer {
  server: Server;
  port: number;
  /** Connections it accepted so far. */
  accepted: Socket[];
  close(): Promise<void>;
}

/**
 * A server answering each connection with `handler`; by default it echoes every byte, prefixed with `tag`. On
 * `port` (a `closedPort()` a target was named by, brought up), or one the system picks.
 */
export async function tcpServer(tag = '', handler?: (socket: Socket) => void, port = 0): Promise<TcpServer> {
  const accepted: Socket[] = [];
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    accepted.push(socket);
    socket.on('error', () => undefined);
    if (handler) return handler(socket);
    socket.on('data', (chunk) => socket.write(tag === '' ? chunk : Buffer.concat([Buffer.from(tag), chunk])));
    socket.on('end', () => socket.end());
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return {
    server,
    port: (server.address() as AddressInfo).port,
    accepted,
    close: () =>
      new Promise<void>((r) => {
        for (const s of accepted) s.destroy();
        server.close(() => r());
      }),
  };
}

/** A connected client socket. */
export function tcpConnect(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/**
 * Resolves with everything `socket` receives until the other side is done sending (its FIN, or the connection
 * closed), or after `timeoutMs` with what came.
 */
export function received(socket: Socket, timeoutMs = 5000): Promise<{ data: Buffer; closed: boolean }> {
  const parts: Buffer[] = [];
  socket.on('data', (c: Buffer) => parts.push(c));
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve({ data: Buffer.concat(parts), closed: false }), timeoutMs);
    const done = () => {
      clearTimeout(t);
      resolve({ data: Buffer.concat(parts), closed: true });
    };
    socket.once('end', done);
    socket.once('close', done);
  });
}

/** Reads from `socket` until `n` bytes came (or it closed), resolving with them. */
export function readBytes(socket: Socket, n: number, timeoutMs = 5000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let got = Buffer.alloc(0);
    const onData = (c: Buffer) => {
      got = Buffer.concat([got, c]);
      if (got.length >= n) finish();
    };
    const finish = () => {
      clearTimeout(t);
      socket.off('data', onData);
      socket.off('close', finish);
      resolve(got);
    };
    const t = setTimeout(() => {
      socket.off('data', onData);
      reject(new Error(`read ${got.length} of ${n} bytes in ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('data', onData);
    socket.once('close', finish);
  });
}

/** Sends `data` on a new connection, half-closes, and resolves with the whole answer once the connection closes. */
export async function roundTrip(port: number, data: string | Buffer): Promise<{ data: Buffer; closed: boolean }> {
  const socket = await tcpConnect(port);
  const answer = received(socket);
  socket.end(data);
  return answer;
}

/** What probeConnections saw: connections the gateway's kernel side took, and failures by error code. */
export interface ProbeResult {
  accepted: number;
  failed: Record<string, number>;
}

/**
 * Three clients that connect to `port` in a loop (each connection closed once it is taken) until `stop()`, which
 * resolves with what they saw: a reload that leaves the address open fails none.
 */
export function probeConnections(port: number): { stop(): Promise<ProbeResult> } {
  const result: ProbeResult = { accepted: 0, failed: {} };
  let probing = true;
  const probe = async () => {
    while (probing)
      await new Promise<void>((resolve) => {
        const socket = connect(port, '127.0.0.1', () => {
          result.accepted++;
          socket.destroy();
          resolve();
        });
        socket.on('error', (err: NodeJS.ErrnoException) => {
          const code = err.code ?? err.message;
          result.failed[code] = (result.failed[code] ?? 0) + 1;
          resolve();
        });
      });
  };
  const probes = [probe(), probe(), probe()];
  return {
    async stop() {
      probing = false;
      await Promise.all(probes);
      return result;
    },
  };
}
