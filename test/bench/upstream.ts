// The origin every competitor proxies to: a fixed 13-byte body, keep-alive.
// Usage: node test/bench/upstream.ts PORT [PORT...] (one process, every port: tollgate's two targets cost the machine
// nothing extra)
import http from 'node:http';

const body = Buffer.from('hello, world\n');
const headers = { 'content-type': 'text/plain', 'content-length': String(body.length) };

const handler: http.RequestListener = (req, res) => {
  // Drain any request body so the socket stays reusable.
  req.resume();
  res.writeHead(200, headers);
  res.end(body);
};
for (const port of process.argv.slice(2).map(Number)) {
  const server = http.createServer(handler);
  // Far above the proxies' pool idle timeouts, so a reused socket never races the origin's close.
  server.keepAliveTimeout = 65_000;
  server.listen(port, '127.0.0.1');
}
