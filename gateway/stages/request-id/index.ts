import { randomUUID } from 'node:crypto';
import type { EdgeStage } from '../../pipeline.ts';

/** A client-sent id is kept only when it is short and plain, so it is safe in logs and headers. */
const VALID_ID = /^[A-Za-z0-9._:@+=\/-]{1,128}$/;

export function acceptRequestId(value: string | string[] | undefined): string {
  return typeof value === 'string' && VALID_ID.test(value) ? value : randomUUID();
}

export const requestId: EdgeStage = {
  name: 'request-id',
  scope: 'edge',
  init: () => (ctx) => {
    ctx.requestId = acceptRequestId(ctx.req.headers['x-request-id']);
    // Node's parser also takes `HTTP/2.0` and `HTTP/0.9` request lines (with
    // headers, and 2.0 needing no Host); neither is HTTP/1.x, so no later stage
    // sees them. nginx answers the same: 505 and 400.
    const major = ctx.req.httpVersionMajor;
    if (major !== 1) return ctx.reply(major > 1 ? 'GW_ERR_HTTP_VERSION_NOT_SUPPORTED' : 'GW_ERR_BAD_REQUEST', { connection: 'close' });
  },
};
