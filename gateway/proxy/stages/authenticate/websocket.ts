import type { RequestContext } from '../../context.ts';
import type { ErrorCode } from '../../../errors.ts';

/** auth.websocket: where a WebSocket handshake may carry its credential when its header does not (browsers). */
export interface WebSocketCredentialConfig {
  query_param?: string;
  cookie?: string;
  subprotocol_prefix?: string;
}

/**
 * A browser's WebSocket cannot set headers, so its handshake carries the token (or API key) in the query, a cookie
 * or a Sec-WebSocket-Protocol entry. For a handshake without the credential header, this puts the first one found
 * into that header (`Bearer <token>` for JWT), so the stage checks it as it checks any; the query parameter, the
 * protocol entry and the cookie are taken out of what goes upstream. Undefined when none is configured.
 *
 * A cookie is sent by the browser whatever page opens the WebSocket, and no CORS stops that page from reading it
 * (cross-site WebSocket hijacking). So a credential from a cookie is taken only from a handshake of the gateway's own
 * origin (its Origin's host:port is the Host it was sent to) or with no Origin (not a browser); otherwise the
 * handshake is refused with GW_ERR_WEBSOCKET_ORIGIN. On a service whose `cors` names its origins (not `*`), whose stage
 * has already refused the others (cors/index.ts), those origins are let through too (`corsChecked`).
 */
export function websocketCredential(
  conf: WebSocketCredentialConfig | undefined,
  header: string,
  bearer: boolean,
  corsChecked: boolean,
): ((ctx: RequestContext) => ErrorCode | undefined) | undefined {
  if (conf === undefined) return undefined;
  const { query_param: param, cookie, subprotocol_prefix: prefix } = conf;
  if (param === undefined && cookie === undefined && prefix === undefined) return undefined;
  return (ctx) => {
    if (!ctx.websocket || ctx.headers[header] !== undefined) return undefined;
    let found =
      (param !== undefined ? fromQuery(ctx, param) : undefined) ??
      (prefix !== undefined ? fromSubprotocol(ctx, prefix) : undefined);
    if (found === undefined && cookie !== undefined) {
      found = fromCookie(ctx, cookie);
      if (found !== undefined && !corsChecked && !sameOrigin(ctx.headers.origin, ctx.headers.host))
        return 'GW_ERR_WEBSOCKET_ORIGIN';
    }
    if (found !== undefined && found !== '') ctx.headers[header] = bearer ? `Bearer ${found}` : found;
    return undefined;
  };
}

/** No Origin (not a browser), or one whose host:port is the Host the handshake was sent to. */
function sameOrigin(origin: string | undefined, host: string | undefined): boolean {
  if (origin === undefined) return true;
  if (host === undefined) return false;
  try {
    return new URL(origin).host === host.toLowerCase();
  } catch {
    return false; // `null` (a sandboxed page, a file) or garbage
  }
}

/** The parameter's value, and the query without it (it must not reach the upstream, nor its logs). */
function fromQuery(ctx: RequestContext, name: string): string | undefined {
  if (ctx.query === '') return undefined;
  let found: string | undefined;
  const kept: string[] = [];
  for (const pair of ctx.query.split('&')) {
    const eq = pair.indexOf('=');
    const key = eq === -1 ? pair : pair.slice(0, eq);
    if (key === name && found === undefined) found = safeDecode(eq === -1 ? '' : pair.slice(eq + 1));
    else kept.push(pair);
  }
  if (found !== undefined) ctx.query = kept.join('&');
  return found;
}

/** An offered protocol `<prefix><credential>`, taken out of the list the upstream chooses from. */
function fromSubprotocol(ctx: RequestContext, prefix: string): string | undefined {
  const offered = ctx.headers['sec-websocket-protocol'];
  if (offered === undefined) return undefined;
  const list = offered.split(',').map((p) => p.trim());
  const at = list.findIndex((p) => p.startsWith(prefix));
  if (at === -1) return undefined;
  const [entry] = list.splice(at, 1);
  if (list.length > 0) ctx.headers['sec-websocket-protocol'] = list.join(', ');
  else delete ctx.headers['sec-websocket-protocol'];
  return entry.slice(prefix.length);
}

/** The cookie's value, taken out of the Cookie header that goes upstream (the other cookies go on). */
function fromCookie(ctx: RequestContext, name: string): string | undefined {
  const header = ctx.headers.cookie;
  if (header === undefined) return undefined;
  const parts = header.split(';');
  const at = parts.findIndex((part) => {
    const eq = part.indexOf('=');
    return eq !== -1 && part.slice(0, eq).trim() === name;
  });
  if (at === -1) return undefined;
  const [part] = parts.splice(at, 1);
  if (parts.length > 0) ctx.headers.cookie = parts.map((p) => p.trim()).join('; ');
  else delete ctx.headers.cookie;
  return safeDecode(part.slice(part.indexOf('=') + 1).trim());
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return value;
  }
}
