import { connect } from 'node:net';

/**
 * Opens and closes a TCP connection to the origin's host and port. Resolves
 * true once connected; rejects on a connection error or when `signal` aborts.
 */
export function probeTcp(origin: string, signal: AbortSignal): Promise<boolean> {
  const url = new URL(origin);
  // URL keeps IPv6 hosts in brackets; net.connect wants them bare.
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const socket = connect({ host, port });
    const settle = (err?: unknown): void => {
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      if (err === undefined) resolve(true);
      else reject(err);
    };
    const onAbort = (): void => settle(signal.reason ?? new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => settle());
    socket.once('error', (err) => settle(err));
  });
}
