import { createServer, type AddressInfo } from 'node:net';

/** A loopback port the OS just handed out and that was released again: free to bind, and nothing listens on it. */
export function freePort(): Promise<number> {
  return listenOnce(0);
}

// Below Linux's ephemeral range (32768-60999 by default) and above the services' fixed ports.
const CLOSED_LOW = 20000;
const CLOSED_HIGH = 32000;
const handedOut = new Set<number>();

/**
 * A loopback port nothing listens on, for a dead target or an unreachable service. It is outside the ephemeral
 * range, so no later `listen(0)` (a gateway's own listener) and no outgoing connection's source port can take it: a
 * port from `freePort` could, and a test's "dead" target then became the gateway itself, its request proxied back
 * into the gateway until the upstream pool was full. Never the same port twice in one process.
 */
export async function closedPort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = CLOSED_LOW + Math.floor(Math.random() * (CLOSED_HIGH - CLOSED_LOW));
    if (handedOut.has(port)) continue;
    try {
      await listenOnce(port);
    } catch {
      continue;
    }
    handedOut.add(port);
    return port;
  }
  throw new Error(`no free port between ${CLOSED_LOW} and ${CLOSED_HIGH} after 100 tries`);
}

function listenOnce(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
