/** `host:port` (IPv6 in brackets) → host without brackets and port. A bare `port` means 127.0.0.1. */
export function splitListen(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(':');
  if (i === -1) return { host: '127.0.0.1', port: Number(listen) };
  return { host: listen.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(listen.slice(i + 1)) };
}

/** Starts `server` on `listen` (host:port); resolves with the address it took (port 0 picks a free one). */
export function listenAt(server: import('node:net').Server, listen: string): Promise<{ host: string; port: number }> {
  const { host, port } = splitListen(listen);
  return new Promise((resolve, reject) => {
    // Each listener goes once the other fires: a server that failed (EADDRINUSE) can be tried again (a stream a
    // reload added) without a stale 'listening' listener per try.
    const failed = (err: Error) => {
      server.off('listening', listening);
      reject(err);
    };
    const listening = () => {
      server.off('error', failed);
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? { host: addr.address, port: addr.port } : { host, port });
    };
    server.once('error', failed);
    server.once('listening', listening);
    server.listen({ host, port });
  });
}
