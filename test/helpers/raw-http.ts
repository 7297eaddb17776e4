import { connect } from 'node:net';

/**
 * Sends bytes exactly as given over a fresh TCP connection and returns
 * everything the server wrote until it closed or `timeoutMs` passed. For
 * requests a well-behaved client cannot send (ambiguous framing, huge heads).
 * With `settleMs`, a connection the server keeps open is read for only that
 * long after a whole response (a head with Content-Length and its body):
 * long enough for a second response, or a request forwarded after it, to
 * show.
 */
export function rawRequest(
  port: number,
  data: string | Buffer,
  timeoutMs = 2000,
  settleMs?: number,
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
    let timer = setTimeout(done, timeoutMs);
    socket.on('data', (c) => {
      chunks.push(c);
      if (settleMs !== undefined && wholeResponse(Buffer.concat(chunks).toString('latin1'))) {
        clearTimeout(timer);
        timer = setTimeout(done, settleMs);
      }
    });
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

/** Whether `text` holds a response head with a Content-Length and at least that many body bytes. */
function wholeResponse(text: string): boolean {
  const end = text.indexOf('\r\n\r\n');
  const length = /\r\ncontent-length: *(\d+)\r\n/i.exec(text.slice(0, end + 2));
  return end >= 0 && length !== null && text.length - end - 4 >= Number(length[1]);
}
