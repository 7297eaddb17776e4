// The origin every competitor proxies to: a fixed 13-byte body, keep-alive.
// Usage: node bench/upstream.ts PORT
import http from 'node:http';

const port = Number(process.argv[2]);
const body = Buffer.from('hello, world\n');
const headers = { 'content-type': 'text/plain', 'content-length': String(body.length) };

const server = http.createServer((req, res) => {
  // Drain any request body so the socket stays reusable.
  req.resume();
  res.writeHead(200, headers);
  res.end(body);
});
// Far above the proxies' pool idle timeouts, so a reused socket never races the origin's close.
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1');
