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
  },
};
