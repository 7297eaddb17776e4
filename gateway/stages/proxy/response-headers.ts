import { HOP_BY_HOP, applyHeaderOps } from '../request-headers/index.ts';

export interface HeaderOps { add: Record<string, string>; set: Record<string, string>; remove: string[] }

/** Upstream response headers minus hop-by-hop ones, plus the route's edits and the request id. */
export function responseHeaders(headers: Record<string, string | string[] | undefined>, ops: HeaderOps | undefined, requestId: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const conn = headers.connection;
  const named = typeof conn === 'string' && conn !== 'keep-alive' && conn !== 'close'
    ? new Set(conn.toLowerCase().split(',').map((s) => s.trim())) : undefined;
  for (const name in headers) {
    if (HOP_BY_HOP.has(name) || (named && named.has(name))) continue;
    const v = headers[name];
    if (v !== undefined) out[name] = v;
  }
  if (ops) applyHeaderOps(out, ops);
  out['x-request-id'] = requestId;
  return out;
}
