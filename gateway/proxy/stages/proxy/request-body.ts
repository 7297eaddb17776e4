import { Transform, type Readable } from 'node:stream';
import type { RequestContext } from '../../context.ts';
import { GatewayError } from '../../../errors.ts';

/**
 * The client's body as the upstream request sends it: the guard's buffer when
 * the guard read it, else the request stream itself, counted on the way when
 * it is chunked so the size limit holds without a Content-Length, and
 * always for a gRPC call, whose messages are counted as they pass.
 */
export function requestBody(ctx: RequestContext): Readable | Buffer {
  if (ctx.body !== undefined) return ctx.body; // read by the guard (bytesIn counted there)
  ctx.continueBody();
  const req = ctx.req;
  const max = ctx.maxBodyBytes;
  const declared = req.headers['content-length'];
  const messages = ctx.messagesIn;
  if (declared !== undefined && messages === undefined) {
    ctx.bytesIn = Number(declared);
    return req;
  }
  const limited = new Transform({
    transform: (chunk: Buffer, _enc, cb) => {
      ctx.bytesIn += chunk.length;
      messages?.push(chunk);
      if (max > 0 && ctx.bytesIn > max) cb(new GatewayError('TOLLGATE_BODY_TOO_LARGE', 'request body too large'));
      else cb(null, chunk);
    },
  });
  req.pipe(limited);
  return limited;
}

/** Nothing of the body has been read (by undici; a buffer the gateway read can be sent again): it can go to another
 * target. */
export function bodyUnread(body: Readable | Buffer | null): boolean {
  return Buffer.isBuffer(body) || (body !== null && !body.readableDidRead && !body.destroyed);
}
