import type { Socket } from 'node:net';

/** How reading a prefix ended: what `parse` made of it, or the client's silence or departure. */
export type PrefixEnd<T> = { kind: 'parsed'; value: T } | { kind: 'timeout' } | { kind: 'closed' };

/**
 * Reads a connection's first bytes (a PROXY header, a ClientHello) until
 * `parse` makes something of them (undefined: not enough yet), within
 * `timeoutMs`. `done` gets the outcome and every byte read so far, the
 * socket paused: nothing is lost, the caller passes the bytes on.
 */
export function readPrefix<T>(
  socket: Socket,
  initial: Buffer,
  parse: (bytes: Buffer) => T | undefined,
  timeoutMs: number,
  done: (end: PrefixEnd<T>, bytes: Buffer) => void,
): void {
  let bytes = initial;
  if (bytes.length > 0) {
    const value = parse(bytes);
    if (value !== undefined) return void done({ kind: 'parsed', value }, bytes);
  }
  const finish = (end: PrefixEnd<T>) => {
    clearTimeout(timer);
    socket.off('data', onData);
    socket.off('close', onClose);
    socket.pause();
    done(end, bytes);
  };
  const onData = (chunk: Buffer) => {
    bytes = bytes.length === 0 ? chunk : Buffer.concat([bytes, chunk]);
    const value = parse(bytes);
    if (value !== undefined) finish({ kind: 'parsed', value });
  };
  const onClose = () => finish({ kind: 'closed' });
  const timer = setTimeout(() => finish({ kind: 'timeout' }), timeoutMs);
  socket.on('data', onData);
  socket.once('close', onClose);
  socket.resume();
}
