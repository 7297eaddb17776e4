// Short connections for `npm run bench -- --tcp`: CONCURRENCY loops each opening a connection, sending 64 bytes,
// reading their echo and closing, for SECONDS. Prints {"connectionsPerS": n, "failed": n}.
// Usage: node test/bench/tcp/connections.ts PORT CONCURRENCY SECONDS
import { connect } from 'node:net';

const [port, concurrency, seconds] = process.argv.slice(2).map(Number);
const payload = Buffer.alloc(64, 120);
const end = performance.now() + seconds * 1000;
let done = 0;
let failed = 0;

function once(): Promise<void> {
  return new Promise((resolve) => {
    let got = 0;
    const socket = connect({ host: '127.0.0.1', port }, () => socket.write(payload));
    socket.on('data', (d: Buffer) => {
      got += d.length;
      if (got >= payload.length) socket.end();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (got >= payload.length) done++;
      else failed++;
      resolve();
    });
  });
}

async function loop(): Promise<void> {
  while (performance.now() < end) await once();
}

await Promise.all(Array.from({ length: concurrency }, loop));
console.log(JSON.stringify({ connectionsPerS: Math.round(done / seconds), failed }));
