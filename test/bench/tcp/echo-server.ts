// The TCP echo target of the short-connection runs of `npm run bench -- --tcp`.
// Usage: node test/bench/tcp/echo-server.ts PORT
import { createServer } from 'node:net';

createServer({ allowHalfOpen: true }, (socket) => {
  socket.on('error', () => undefined);
  socket.pipe(socket);
}).listen(Number(process.argv[2]), '127.0.0.1');
