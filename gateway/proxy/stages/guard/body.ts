import type { RequestContext } from '../../context.ts';

const JSON_TYPE = /^application\/(?:[\w.-]+\+)?json\s*(?:;|$)/i;

/** Whether the request says it carries JSON (application/json, application/*+json). */
export function isJson(ctx: RequestContext): boolean {
  const ct = ctx.headers['content-type'];
  return ct !== undefined && JSON_TYPE.test(ct);
}

/**
 * Reads a body of known, bounded length whole (the caller checked
 * Content-Length against max_inspect_bytes). Resolves undefined when the
 * client goes away first: the data plane records that request when its
 * response closes.
 */
export function readBody(ctx: RequestContext, length: number): Promise<Buffer | undefined> {
  const req = ctx.req;
  ctx.continueBody();
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer) => {
      chunks.push(c);
      size += c.length;
    };
    const finish = (ok: boolean) => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onClose);
      req.off('error', onClose);
      resolve(ok ? (chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size)) : undefined);
    };
    const onEnd = () => finish(size <= length);
    const onClose = () => finish(false);
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('close', onClose);
    req.once('error', onClose);
  });
}
