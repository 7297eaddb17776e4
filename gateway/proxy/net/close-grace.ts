import type { Duplex } from 'node:stream';

/** How long a client gets to take what is on its way, or to read an error, and close before its connection is cut. */
export const CLOSE_GRACE_MS = 5000;

/**
 * Cuts `socket` should it still be open CLOSE_GRACE_MS from now. The timer goes as soon as the socket closes: left
 * to run, it would hold the closed connection (its sockets, buffers and whatever their listeners reach) in memory
 * for the rest of the grace.
 */
export function cutIfStillOpen(socket: Duplex): void {
  if (socket.destroyed) return;
  const timer = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
  socket.once('close', () => clearTimeout(timer));
}

/**
 * Ends a connection the gateway has answered for the last time (with `last`, when the answer is still to write),
 * reading and dropping what the client still sends until it closes, cut at CLOSE_GRACE_MS. Left unread, those bytes
 * stand before the client's close, which is then never seen (the connection is held for good), and closed with them
 * unread, the connection is reset: the client can lose the answer.
 */
export function endAndDrain(socket: Duplex, last?: string): void {
  socket.end(last);
  socket.resume();
  cutIfStillOpen(socket);
}
