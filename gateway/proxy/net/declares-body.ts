import type { IncomingMessage } from 'node:http';

/**
 * Whether a body follows the request head. HTTP/1.1 says so with a non-zero
 * Content-Length or Transfer-Encoding; HTTP/2 needs neither (the body ends
 * with the stream) and says "none" by ending the stream with its HEADERS
 * frame, which Node's server stream reports as endAfterHeaders.
 */
export function declaresBody(req: IncomingMessage): boolean {
  const stream = (req as { stream?: { endAfterHeaders: boolean } }).stream;
  if (stream !== undefined) return !stream.endAfterHeaders;
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}
