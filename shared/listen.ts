/** `host:port` (IPv6 in brackets) → host without brackets and port. A bare `port` means 127.0.0.1. */
export function splitListen(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(':');
  if (i === -1) return { host: '127.0.0.1', port: Number(listen) };
  return { host: listen.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(listen.slice(i + 1)) };
}
