import type { RequestContext } from '../../context.ts';
import { wholeBodyDeadline } from '../body-deadline.ts';

/** application/json, application/*+json, and text/json, which ASP.NET Core's JSON input formatter reads as well. */
const JSON_TYPE = /^(?:application\/(?:[\w.-]+\+)?|text\/)json\s*(?:;|$)/i;

const CHARSET = /;\s*charset\s*=\s*"?([\w.:-]+)"?/i;
/** By label; only labels a decoder exists for, a fixed list (the WHATWG Encoding standard's). */
const decoders = new Map<string, TextDecoder>();

/**
 * The body as text, each way a parser upstream may read it: in the charset its Content-Type names, a leading byte
 * order mark dropped (Express's body parser takes UTF-16 too, and skips a BOM, which JSON.parse refuses); and, when
 * that is not UTF-8, as UTF-8 as well, which is what parsers that ignore the charset read (Go's encoding/json,
 * most frameworks' JSON binding). The first is the declared reading; a charset no decoder exists for has none.
 */
export function bodyTexts(body: Buffer, contentType: string): { declared: string | undefined; utf8?: string } {
  const label = (CHARSET.exec(contentType)?.[1] ?? 'utf-8').toLowerCase();
  let decoder = decoders.get(label);
  if (decoder === undefined) {
    try {
      decoder = new TextDecoder(label);
    } catch {
      return { declared: undefined, utf8: UTF8.decode(body) };
    }
    decoders.set(label, decoder);
  }
  const declared = decoder.decode(body);
  return decoder.encoding === 'utf-8' ? { declared } : { declared, utf8: UTF8.decode(body) };
}

const UTF8 = new TextDecoder('utf-8');

/** Whether `text` is JSON. */
export function isJsonText(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

const FORM_TYPE = /^application\/x-www-form-urlencoded\s*(?:;|$)/i;
const MULTIPART_TYPE = /^multipart\/form-data\s*(?:;|$)/i;

export type BodyType = 'json' | 'form' | 'multipart';

/** What the request says its body is, of the bodies the guard reads: JSON (JSON_TYPE), an HTML form
 * (application/x-www-form-urlencoded, multipart/form-data), or none of them. */
export function bodyType(ctx: RequestContext): BodyType | undefined {
  const ct = ctx.headers['content-type'];
  if (ct === undefined) return undefined;
  return JSON_TYPE.test(ct) ? 'json' : FORM_TYPE.test(ct) ? 'form' : MULTIPART_TYPE.test(ct) ? 'multipart' : undefined;
}

/**
 * Reads a body whole when it is at most `max` bytes: one of that declared length, or one of undeclared length
 * (chunked, or HTTP/2 without Content-Length) that ends within it. One of undeclared length that goes past `max`
 * resolves 'more', its bytes so far put back at the head of the request (unshift) and the request paused, so the
 * proxy sends it all from the start. Resolves 'left' when the client goes away first (the data plane records that
 * request when its response closes), 'timeout' when an HTTP/2 body is not in within proxy.request_timeout_ms
 * (body-deadline.ts).
 */
export function readBody(ctx: RequestContext, max: number): Promise<Buffer | 'more' | 'left' | 'timeout'> {
  const req = ctx.req;
  ctx.continueBody();
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer) => {
      chunks.push(c);
      size += c.length;
      if (size > max) finish('more');
    };
    const finish = (result: 'ok' | 'more' | 'left' | 'timeout') => {
      cancelDeadline();
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onClose);
      req.off('error', onClose);
      if (result === 'more') {
        req.pause();
        req.unshift(Buffer.concat(chunks, size));
      }
      if (result !== 'ok') return resolve(result);
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onEnd = () => finish('ok');
    const onClose = () => finish('left');
    const cancelDeadline = wholeBodyDeadline(ctx, () => finish('timeout'));
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('close', onClose);
    req.once('error', onClose);
  });
}
