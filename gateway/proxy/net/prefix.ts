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
  // Past the first chunk, the bytes so far are the start of `store`, which doubles when full: a client sending its
  // prefix a byte at a time costs a copy of each byte and a few of the whole, where a concat per chunk copied all
  // so far every time (test/bench/net/prefix.bench.ts).
  let store: Buffer | undefined;
  const finish = (end: PrefixEnd<T>) => {
    clearTimeout(timer);
    socket.off('data', onData);
    socket.off('close', onClose);
    socket.pause();
    done(end, bytes);
  };
  const onData = (chunk: Buffer) => {
    if (bytes.length === 0) bytes = chunk;
    else {
      const length = bytes.length + chunk.length;
      if (store === undefined || length > store.length) {
        const grown = Buffer.allocUnsafe(Math.max(length, 2 * (store?.length ?? 0), 1024));
        bytes.copy(grown);
        store = grown;
      }
      chunk.copy(store, bytes.length);
      bytes = store.subarray(0, length);
    }
    const value = parse(bytes);
    if (value !== undefined) finish({ kind: 'parsed', value });
  };
  const onClose = () => finish({ kind: 'closed' });
  const timer = setTimeout(() => finish({ kind: 'timeout' }), timeoutMs);
  socket.on('data', onData);
  socket.once('close', onClose);
  socket.resume();
}
