import { connect } from 'node:net';

/**
 * Sends bytes exactly as given over a fresh TCP connection and returns
 * everything the server wrote until it closed or `timeoutMs` passed. For
 * requests a well-behaved client cannot send (ambiguous framing, huge heads).
 */
export function rawRequest(
  port: number,
  data: string | Buffer,
  timeoutMs = 2000,
): Promise<{ text: string; status: number; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let closed = false;
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      resolve({ text, status: m ? Number(m[1]) : 0, closed });
    };
    const timer = setTimeout(done, timeoutMs);
    socket.on('data', (c) => chunks.push(c));
    socket.on('end', () => {
      closed = true;
      done();
    });
    socket.on('error', () => {
      closed = true;
      done();
    });
    socket.write(data);
  });
}
