// The floor: the least a correct pass-through proxy on node:http + undici does.
// Usage: node test/bench/bare-undici.ts PORT UPSTREAM_ORIGIN
import http from 'node:http';
import { Pool, type Dispatcher } from 'undici';

type Headers = Record<string, string | string[] | undefined>;

const port = Number(process.argv[2]);
const pool = new Pool(process.argv[3], { connections: 128, pipelining: 1 });

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Drops hop-by-hop headers, including any the Connection header names (RFC 9110 §7.6.1). */
function endToEnd(headers: Headers): Record<string, string | string[]> {
  const connection = headers.connection;
  const named =
    typeof connection === 'string'
      ? connection
          .toLowerCase()
          .split(',')
          .map((s) => s.trim())
      : [];
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || HOP_BY_HOP.has(name) || named.includes(name)) continue;
    out[name] = value;
  }
  return out;
}

const server = http.createServer((req, res) => {
  // A body-less request must not become a chunked upload upstream.
  const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
  pool.stream(
    {
      path: req.url ?? '/',
      method: req.method as Dispatcher.HttpMethod,
      headers: endToEnd(req.headers),
      body: hasBody ? req : null,
    },
    ({ statusCode, headers }) => {
      res.writeHead(statusCode, endToEnd(headers as Headers));
      return res;
    },
    (err) => {
      if (!err) return;
      if (res.headersSent) res.destroy(err);
      else res.writeHead(502, { 'content-type': 'text/plain' }).end('bad gateway\n');
    },
  );
});
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1');
