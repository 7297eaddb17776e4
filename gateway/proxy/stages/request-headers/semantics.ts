import type { Config } from '../../../control/config/schema.ts';

type Route = Config['services'][number]['routes'][number];

/**
 * Headers that frame a message or a connection: the gateway writes them itself for each connection, and HTTP/2
 * forbids all but Content-Length (RFC 9113 8.2.2), so Node refuses to send a response that has one: the request
 * failed with 502 and an HTTP/2 client was never answered. A route's header edits may remove them, not add or set them.
 */
const FRAMING = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
  'content-length',
]);

export function checkHeaderOps(route: Route, rbase: string, err: (path: string, message: string) => void): void {
  for (const key of ['request_headers', 'response_headers'] as const) {
    const ops = route[key];
    for (const op of ['add', 'set'] as const)
      for (const name of Object.keys(ops?.[op] ?? {}))
        if (FRAMING.has(name.toLowerCase()))
          err(`${rbase}/${key}/${op}/${name}`, `${name} frames the connection: the gateway sets it, a route cannot`);
  }
}
