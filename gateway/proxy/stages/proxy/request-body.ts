import { Transform, type Readable } from 'node:stream';
import type { RequestContext } from '../../context.ts';
import { GatewayError, type ErrorCode } from '../../../errors.ts';
import { Base64Decoder } from '../../grpc/web.ts';
import { bodySource, type Inspect, InspectedBody } from '../../upstream/forward-body.ts';

/**
 * The client's body as the upstream request sends it: the guard's buffer when
 * the guard read it, else the request stream itself, counted on the way when
 * it is chunked so the size limit holds without a Content-Length, and
 * always for a gRPC call, whose messages are counted as they pass. HTTP/2
 * upstreams (`inspects`) get the counting as an InspectedBody, which keeps what
 * was sent for a stream the target refuses (resendBody): H2cDispatcher forwards
 * it itself, undici's h2 client iterates it (http2Body). HTTP/1.1 ones get a
 * Transform stream.
 */
export function requestBody(ctx: RequestContext, inspects = false): Readable | InspectedBody | Buffer {
  if (ctx.body !== undefined) return ctx.body; // JSON the guard read (bytesIn counted there); never gRPC-Web
  ctx.continueBody();
  const req = ctx.req;
  const declared = req.headers['content-length'];
  // A gRPC-Web text body goes to an HTTP/2 upstream decoded; messages are counted in the decoded bytes.
  const decoder = ctx.grpcWeb?.translated && ctx.grpcWeb.text ? new Base64Decoder() : undefined;
  if (declared !== undefined && ctx.messagesIn === undefined && decoder === undefined) {
    ctx.bytesIn = Number(declared);
    // Through an InspectedBody all the same, to keep what was sent for a stream the target refuses (resendBody).
    return inspects ? new InspectedBody(req, unchanged, nothing) : req;
  }
  const inspect = inspector(ctx, decoder);
  const end = () => decoder?.end();
  if (inspects) return new InspectedBody(req, inspect, end);
  const limited = new Transform({
    transform: (chunk: Buffer, _enc, cb) => {
      const out = inspect(chunk);
      if (out instanceof Error) cb(out);
      else cb(null, out);
    },
    flush: (cb) => cb(end()),
  });
  req.pipe(limited);
  // pipe() leaves the counting stream open when the client's request closes unfinished; whoever reads it must learn
  // that (undici's HTTP/2 client iterates it, and leaves stopping the iteration to its caller: http2Body).
  req.once('close', () => {
    if (!limited.writableEnded)
      limited.destroy(new GatewayError('TOLLGATE_CLIENT_CLOSED', 'client closed the request before its end'));
  });
  return limited;
}

const unchanged = (chunk: Buffer) => chunk;
const nothing = () => undefined;

/** Each chunk counted into bytesIn against the body limit, decoded (gRPC-Web text), its gRPC messages counted. */
function inspector(ctx: RequestContext, decoder: Base64Decoder | undefined): Inspect {
  const max = ctx.maxBodyBytes;
  const messages = ctx.messagesIn;
  return (chunk) => {
    ctx.bytesIn += chunk.length;
    if (max > 0 && ctx.bytesIn > max) return new GatewayError('TOLLGATE_BODY_TOO_LARGE', 'request body too large');
    let out = chunk;
    if (decoder !== undefined) {
      try {
        out = decoder.push(chunk);
      } catch (error) {
        return error as Error;
      }
    }
    messages?.push(out);
    return out;
  };
}

/**
 * A stream body as undici's HTTP/2 client sends it cheapest. Given a stream, it pipes it with stream.pipeline, which
 * makes an AbortController and a DOMException per request; given an async iterable, it writes the chunks as they
 * come, with the same backpressure: 55 CPU-µs per unary gRPC call against 88 (a node:http2 client sending the same
 * stream: 41; undici with an h2c Client, @grpc/grpc-js's SayHello on another CPU). The stream stays what retries and
 * the header clock look at. An InspectedBody goes as what an earlier attempt sent, then the rest of its source,
 * inspected and kept as forwardBody does for h2c; undici giving up on it leaves the source for another attempt.
 */
export function http2Body(body: Readable | InspectedBody): AsyncIterable<Buffer> {
  if (body instanceof InspectedBody) return inspectedChunks(body);
  return { [Symbol.asyncIterator]: () => body[Symbol.asyncIterator]() };
}

async function* inspectedChunks(body: InspectedBody): AsyncGenerator<Buffer> {
  yield* body.prefix;
  if (body.ended) return;
  let failed: Error | undefined;
  try {
    for await (const chunk of body.source.iterator({ destroyOnReturn: false })) {
      const out = body.pass(chunk as Buffer);
      if (out instanceof Error) {
        failed = out;
        break;
      }
      yield out;
    }
  } catch {
    // The client's request closed or broke before its end: no failure of the target's.
    throw new GatewayError('TOLLGATE_CLIENT_CLOSED', 'client closed the request before its end');
  }
  const error = failed ?? body.finish();
  if (error) throw error;
}

/** Nothing of the body has been read (by undici; a buffer the gateway read can be sent again): it can go to another
 * target. */
export function bodyUnread(body: Readable | InspectedBody | Buffer | null): boolean {
  if (body === null || Buffer.isBuffer(body)) return Buffer.isBuffer(body);
  const source = bodySource(body);
  return !source.readableDidRead && !source.destroyed;
}

/**
 * The body for another attempt, or undefined when it cannot go again: the same one while none of it was read (a
 * buffer the gateway read always); else, on an HTTP/2 upstream, what was sent (kept up to RESEND_BYTES) and the rest.
 */
export function resendBody(
  body: Readable | InspectedBody | Buffer | null,
): Readable | InspectedBody | Buffer | null | undefined {
  if (body === null || bodyUnread(body)) return body;
  return body instanceof InspectedBody ? body.again() : undefined;
}

/** The response started: nothing can send the body again, and what was kept for that is let go. */
export function responseStarted(body: Readable | InspectedBody | Buffer | null): void {
  if (body instanceof InspectedBody) body.sent = undefined;
}

const TIMEOUTS = {
  TOLLGATE_TOTAL_TIMEOUT: 'upstream total timeout',
  TOLLGATE_GRPC_DEADLINE: 'grpc deadline',
  TOLLGATE_HEADERS_TIMEOUT: 'upstream header timeout',
  TOLLGATE_BODY_IDLE_TIMEOUT: 'upstream body idle timeout',
};
export type TimeoutCode = keyof typeof TIMEOUTS;

/**
 * The error an exchange whose time ran out (`code`) is aborted with: the upstream's, unless it was waiting on the
 * client: its body still coming, and all of it that came passed on (none held in the request or the counting stream).
 * The timeout is then the client's (408, bodyErrorReply), not the target's, so a slow upload cannot eject a target or
 * open its breaker. A target that stops reading a body leaves the client's bytes held here (the request paused): that
 * stays a slow upstream.
 */
export function timeoutError(
  code: TimeoutCode,
  req: Readable & { complete: boolean },
  body: Readable | InspectedBody | Buffer | null,
): GatewayError {
  if (body === null || Buffer.isBuffer(body) || req.complete || req.readableLength > 0)
    return new GatewayError(code, TIMEOUTS[code]);
  const source = bodySource(body);
  const passedOn = source === req || (source.readableLength === 0 && (source as Transform).writableLength === 0);
  return passedOn
    ? new GatewayError('TOLLGATE_CLIENT_BODY_TIMEOUT', 'request body timeout')
    : new GatewayError(code, TIMEOUTS[code]);
}

/** The reply to a request whose body failed on its way upstream (requestBody's errors); undefined for other errors. */
export function bodyErrorReply(code: string | undefined): ErrorCode | undefined {
  if (code === 'TOLLGATE_CLIENT_BODY_TIMEOUT') return 'GW_ERR_REQUEST_TIMEOUT';
  if (code === 'TOLLGATE_BODY_TOO_LARGE') return 'GW_ERR_BODY_TOO_LARGE';
  if (code === 'TOLLGATE_GRPC_WEB_BAD_BODY') return 'GW_ERR_GRPC_WEB_BAD_BODY';
  return undefined;
}
