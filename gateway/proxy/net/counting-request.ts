import type { IncomingMessage as IncomingMessageType } from 'node:http';
import { IncomingMessage } from '../../../shared/http.ts';

/**
 * The proxy listener's request class: it counts the body bytes the HTTP
 * parser hands over (after chunked decoding), so a client that leaves halfway
 * through its body is recorded with the bytes that arrived, not the
 * Content-Length it declared. One add per body chunk; a body-less request
 * costs one call more (the parser's end-of-body push).
 */
export class CountingRequest extends (IncomingMessage as typeof IncomingMessageType) {
  bodyBytes = 0;

  override push(chunk: unknown, encoding?: BufferEncoding): boolean {
    if (chunk !== null) this.bodyBytes += (chunk as Buffer).length;
    return super.push(chunk, encoding);
  }
}
