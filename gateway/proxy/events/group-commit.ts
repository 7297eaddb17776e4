import type { IncomingMessage, ServerResponse } from 'node:http';
import { ServerResponse as NodeServerResponse } from '../../../shared/http.ts';

/**
 * Called instead of ending a response: `end` really ends it. The data plane
 * appends the request's access event and calls `end` once the event is in the
 * log, so a response never completes before its event could survive the
 * process (docs/analytics.md, "An answered request is never lost").
 */
export type BeforeEnd = (res: ServerResponse, end: () => void) => void;

/**
 * A fresh ServerResponse class for one data plane (its close() patches the
 * class's writeHead). With `beforeEnd`, `end()` goes through it: the events of
 * the responses that end in one turn of the event loop reach the log in one
 * write (SegmentLog's group commit), and those responses complete after it.
 */
export function responseClass(beforeEnd?: BeforeEnd) {
  const Response = class ProxyResponse extends NodeServerResponse {};
  if (beforeEnd) {
    const end = NodeServerResponse.prototype.end;
    Response.prototype.end = function (this: ServerResponse, ...args: unknown[]) {
      beforeEnd(this, () => end.apply(this, args as Parameters<typeof end>));
      return this;
    } as typeof end;
  }
  return Response;
}

/** A request body still to come: declared (Content-Length above 0, or chunked) and not yet read whole. */
export function bodyArriving(req: IncomingMessage): boolean {
  if (req.complete) return false;
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}
