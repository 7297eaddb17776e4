import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TestUpstream {
  server: Server;
  port: number;
  url: string;
  /** Requests seen, newest last. */
  seen: { method: string; url: string; headers: IncomingMessage['headers'] }[];
  close(): Promise<void>;
}

/**
 * A real HTTP server on 127.0.0.1:0. The default handler answers 200 with a
 * JSON echo `{name, method, url, headers}`; /healthz answers 200 unless
 * `healthy` is set false. Pass a handler to do anything else.
 */
export async function startUpstream(
  name: string,
  handler?: (req: IncomingMessage, res: ServerResponse) => void,
  opts: { healthy?: () => boolean } = {},
): Promise<TestUpstream> {
  const seen: TestUpstream['seen'] = [];
  const server = createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    if (req.url === '/healthz') {
      const ok = opts.healthy ? opts.healthy() : true;
      res.writeHead(ok ? 200 : 503).end(ok ? 'ok' : 'down');
      return;
    }
    if (handler) return handler(req, res);
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ name, method: req.method, url: req.url, headers: req.headers }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** The SHA-256 of a body, hex: what a test compares bodies by. */
export const sha256 = (body: string | Buffer): string => createHash('sha256').update(body).digest('hex');

/**
 * An upstream that answers `answer` once a request's body is in, keeping each body's SHA-256 (hex) in `received`, in
 * order: for tests that a body arrived byte for byte.
 */
export async function startHashingUpstream(answer = 'ok'): Promise<TestUpstream & { received: string[] }> {
  const received: string[] = [];
  const up = await startUpstream('hashing', (req, res) => {
    const hash = createHash('sha256');
    req.on('data', (c: Buffer) => hash.update(c));
    req.on('end', () => {
      received.push(hash.digest('hex'));
      res.end(answer);
    });
  });
  return Object.assign(up, { received });
}

/** Makes `server` listen on 127.0.0.1, on a free port; its base URL (`http://127.0.0.1:PORT`). */
export async function listenLocal(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Closes a server a test made, and the connections it still holds. */
export async function closeServer(server: Server | undefined): Promise<void> {
  if (server === undefined) return;
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}
