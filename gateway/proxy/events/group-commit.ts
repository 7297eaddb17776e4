import type { IncomingMessage, ServerResponse } from 'node:http';
import { ServerResponse as NodeServerResponse } from '../../../shared/http.ts';
import { declaresBody } from '../net/declares-body.ts';

/**
 * Called instead of ending a response: `end` really ends it. The data plane
 * appends the request's access event and calls `end` once the event is in the
 * log, so a response never completes before its event could survive the
 * process (docs/analytics.md, "An answered request is never lost").
 */
/** `res` may be Node's HTTP/2 compatibility response, which the data plane reads as a ServerResponse. */
export type BeforeEnd = (res: ServerResponse, end: () => void) => void;

type EndingClass = abstract new (...args: never[]) => { end(...args: never[]): unknown };

/**
 * A fresh response class for one data plane (its close() patches the
 * class's writeHead): Node's ServerResponse, or its HTTP/2 compatibility
 * Http2ServerResponse. With `beforeEnd`, `end()` goes through it: the events
 * of the responses that end in one turn of the event loop reach the log in one
 * write (SegmentLog's group commit), and those responses complete after it.
 */
export function responseClass<T extends EndingClass>(Base: T, beforeEnd?: BeforeEnd): T {
  // @ts-expect-error TS cannot type a mixin over an abstract constructor with these arguments; the class adds nothing.
  const Response: T = class ProxyResponse extends Base {};
  if (beforeEnd) {
    const end = Base.prototype.end as (...args: unknown[]) => unknown;
    Response.prototype.end = function (this: ServerResponse, ...args: unknown[]) {
      beforeEnd(this, () => end.apply(this, args));
      return this;
    };
  }
  return Response;
}

/** The HTTP/1.1 response class of a data plane (see responseClass). */
export const http1ResponseClass = (beforeEnd?: BeforeEnd) => responseClass(NodeServerResponse, beforeEnd);

/** A request body still to come: declared (declaresBody) and not yet read whole. */
export function bodyArriving(req: IncomingMessage): boolean {
  return !req.complete && declaresBody(req);
}
