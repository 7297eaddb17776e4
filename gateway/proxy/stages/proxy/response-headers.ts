import { HOP_BY_HOP, applyHeaderOps } from '../request-headers/index.ts';

export interface HeaderOps {
  add: Record<string, string>;
  set: Record<string, string>;
  remove: string[];
}

/** Upstream response headers minus hop-by-hop ones, plus the request id, the route's edits (which may remove or replace
 * the id) and per-request headers from stages (CORS). */
export function responseHeaders(
  headers: Record<string, string | string[] | undefined>,
  ops: HeaderOps | undefined,
  requestId: string,
  extra?: Record<string, string>,
  status = 200,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  // undici gives a header sent on several lines as an array: every Connection line names hop-by-hop headers.
  const c = headers.connection;
  const conn = Array.isArray(c) ? c.join(',') : c;
  const named =
    conn !== undefined && conn !== 'keep-alive' && conn !== 'close'
      ? new Set(
          conn
            .toLowerCase()
            .split(',')
            .map((s) => s.trim()),
        )
      : undefined;
  for (const name in headers) {
    if (HOP_BY_HOP.has(name) || named?.has(name)) continue;
    const v = headers[name];
    if (v !== undefined) out[name] = v;
  }
  out['x-request-id'] = requestId;
  if (ops) applyHeaderOps(out, ops);
  if (extra) {
    for (const name in extra) {
      const cur = out[name];
      // Vary lists add up (the upstream's own reasons stay); every other stage header replaces the upstream's.
      out[name] = name === 'vary' && cur !== undefined ? `${cur}, ${extra[name]}` : extra[name];
    }
  }
  // A 204 has no content, so no Content-Length (RFC 9110 8.6; nginx drops it too).
  if (status === 204) delete out['content-length'];
  return out;
}
