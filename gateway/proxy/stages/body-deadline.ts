import type { RequestContext } from '../context.ts';

const NOTHING = () => {};

/**
 * A body a stage reads whole before anything goes upstream (the token
 * endpoint's form, the JSON the guard inspects) must be in within
 * `proxy.request_timeout_ms` of the request's start, on HTTP/2 as on
 * HTTP/1.1. Node's HTTP/1.1 server holds a request to that itself (a 408 from
 * its parser's timer); HTTP/2 has nothing of the kind, and a client that
 * trickled such a body kept its stream for as long as it liked. On HTTP/2,
 * `timedOut` runs when the time is up. Returns what cancels it.
 */
export function wholeBodyDeadline(ctx: RequestContext, timedOut: () => void): () => void {
  if (ctx.req.httpVersionMajor !== 2) return NOTHING;
  const left = ctx.snapshot.config.proxy.request_timeout_ms - (performance.now() - ctx.startMs);
  const timer = setTimeout(timedOut, Math.max(0, left));
  return () => clearTimeout(timer);
}
