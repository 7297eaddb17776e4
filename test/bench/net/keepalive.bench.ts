/**
 * What TCP keep-alive costs a connection: socket.setKeepAlive (the system calls that turn it on and set its idle
 * time) timed over 2,000 accepted loopback sockets, beside setNoDelay for scale. docs/tcp.md quotes it for
 * streams' keepalive_ms, off by default because every short connection would pay it on two sockets.
 * Run: node test/bench/net/keepalive.bench.ts
 */
import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';

const COUNT = 2000;
const accepted: Socket[] = [];
const server = createServer((socket) => accepted.push(socket));
server.listen(0, '127.0.0.1');
await once(server, 'listening');
const { port } = server.address() as AddressInfo;
const clients: Socket[] = [];
for (let i = 0; i < COUNT; i++) {
  const client = connect(port, '127.0.0.1');
  await once(client, 'connect');
  clients.push(client);
}
while (accepted.length < COUNT) await new Promise((r) => setTimeout(r, 10));

const timed = (what: string, each: (s: Socket) => void) => {
  const start = process.hrtime.bigint();
  for (const s of accepted) each(s);
  const us = Number(process.hrtime.bigint() - start) / 1000 / accepted.length;
  console.log(`${what.padEnd(28)} ${us.toFixed(2)} µs a socket`);
};
timed('setKeepAlive(true, 300000)', (s) => s.setKeepAlive(true, 300_000));
timed('setNoDelay(true)', (s) => s.setNoDelay(true));
for (const c of clients) c.destroy();
server.close();
