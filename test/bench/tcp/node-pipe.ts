// The bare Node TCP proxy `npm run bench -- --tcp` measures Tollgate against: accept, connect, pipe both ways.
// Usage: node test/bench/tcp/node-pipe.ts LISTEN_PORT TARGET_PORT
import { connect, createServer } from 'node:net';

const [listen, target] = process.argv.slice(2).map(Number);
createServer({ allowHalfOpen: true }, (client) => {
  const upstream = connect({ host: '127.0.0.1', port: target, allowHalfOpen: true });
  client.pipe(upstream).pipe(client);
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
}).listen(listen, '127.0.0.1');
