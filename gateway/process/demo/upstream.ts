import type { Server } from 'node:http';
import { createServer } from '../../../shared/http.ts';

/**
 * A tiny upstream for the quick start (`--demo`): answers /healthz and echoes
 * what it received as JSON, so a newcomer's first curl through the gateway
 * shows which target answered and what the gateway forwarded.
 */
export function startDemoUpstream(host: string, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
    });
    req.on('end', () => {
      const body = JSON.stringify(
        { upstream: `${host}:${port}`, method: req.method, url: req.url, headers: req.headers, body_bytes: size },
        null,
        2,
      );
      res.writeHead(200, { 'content-type': 'application/json' }).end(body + '\n');
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
