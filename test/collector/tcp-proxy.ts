/**
 * A loopback TCP proxy the test can take down and bring back, to make a real
 * server unreachable without stopping it for other suites.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';

export class TcpProxy {
  readonly #targetPort: number;
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();
  #down = false;

  constructor(targetPort: number) {
    this.#targetPort = targetPort;
    this.#server = net.createServer((client) => this.#accept(client));
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    return (this.#server.address() as AddressInfo).port;
  }

  /** Down: every open connection is reset and new ones are reset on accept. */
  setDown(down: boolean): void {
    this.#down = down;
    if (down) for (const socket of this.#sockets) socket.resetAndDestroy();
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: net.Socket): void {
    if (this.#down) {
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(this.#targetPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  }
}
