import { createServer, type Server, type Socket } from 'node:net';

/** What a client speaking HTTP/2 with prior knowledge sends first (RFC 9113 3.4). */
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

/** 'h2' for the preface, 'http/1.1' for anything else, undefined while `head` is still a prefix of the preface. */
export function protocolOf(head: Buffer): 'h2' | 'http/1.1' | undefined {
  const n = Math.min(head.length, PREFACE.length);
  if (head.compare(PREFACE, 0, n, 0, n) !== 0) return 'http/1.1';
  return n === PREFACE.length ? 'h2' : undefined;
}

/**
 * A cleartext listener for h2c and HTTP/1.1 on one port: the first bytes of
 * each connection tell them apart (only HTTP/2 starts with its preface), and
 * the socket goes to the matching server with those bytes put back. A client
 * that sends nothing within `headTimeoutMs` is closed, as the HTTP/1.1
 * server's own header timeout would have.
 */
export function createSniffingServer(
  dispatch: (socket: Socket, protocol: 'h2' | 'http/1.1') => void,
  headTimeoutMs: () => number,
): Server {
  return createServer((socket) => {
    let head: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => socket.destroy(), headTimeoutMs());
    const onData = (chunk: Buffer) => {
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      const protocol = protocolOf(head);
      if (protocol === undefined) return;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.off('error', onError);
      socket.pause();
      socket.unshift(head);
      dispatch(socket, protocol);
    };
    const onClose = () => clearTimeout(timer);
    // Until a server takes it, an error (a reset) only closes it.
    const onError = () => socket.destroy();
    socket.on('data', onData);
    socket.on('close', onClose);
    socket.on('error', onError);
  });
}
