import { createServer, type AddressInfo } from 'node:net';

/** A loopback port the OS just handed out and that was released again: free to bind, and nothing listens on it. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** The same port, named for its use as a dead target or unreachable service. */
export const closedPort = freePort;
