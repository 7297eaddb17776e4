import type { ServerResponse } from 'node:http';
import { HOP_BY_HOP } from '../request-headers/index.ts';

type Fields = Record<string, string | string[]> | undefined;
type Trailers = Record<string, string | string[] | undefined>;

/**
 * Ends the client's response once the upstream's has ended. `status` and
 * `fields` are a head still held (status 0: none, it went with the body).
 * With a held head and no trailers, head and end go in one frame: for HTTP/2
 * that is HEADERS with END_STREAM, which Node sends for an end() with no
 * writeHead before it, and what a gRPC upstream's trailers-only answer (its
 * status in the head) must stay for the client to read the status there.
 * Trailers (gRPC's status) are passed on, hop-by-hop ones dropped; an HTTP/1.1 client gets them only
 * on a chunked response. `lastChunk`: the body's last bytes, when they were held back to go with the end.
 */
export function endResponse(
  res: ServerResponse,
  status: number,
  fields: Fields,
  trailers: Trailers,
  lastChunk?: Buffer,
): void {
  let kept: Trailers | undefined;
  for (const name in trailers) {
    // A hop-by-hop one is the upstream connection's; on HTTP/2 Node throws on one where nothing catches it (the
    // process went down), as on a pseudo-header.
    if (HOP_BY_HOP.has(name) || name.charCodeAt(0) === 0x3a /* : */) continue;
    (kept ??= {})[name] = trailers[name];
  }
  const hasTrailers = kept !== undefined;
  if (status !== 0 && hasTrailers) res.writeHead(status, fields);
  else if (status !== 0) {
    res.statusCode = status;
    for (const name in fields) res.setHeader(name, fields[name]);
  }
  if (hasTrailers) res.addTrailers(kept as Record<string, string>);
  res.end(lastChunk);
}
