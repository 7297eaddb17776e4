import type { RequestContext } from '../../context.ts';

/** auth.websocket: where a WebSocket handshake may carry its credential when its header does not (browsers). */
export interface WebSocketCredentialConfig {
  query_param?: string;
  cookie?: string;
  subprotocol_prefix?: string;
}

/**
 * A browser's WebSocket cannot set headers, so its handshake carries the token (or API key) in the query, a cookie
 * or a Sec-WebSocket-Protocol entry. For a handshake without the credential header, this puts the first one found
 * into that header (`Bearer <token>` for JWT), so the stage checks it as it checks any; the query parameter and the
 * protocol entry are taken out of what goes upstream. Undefined when none is configured.
 */
export function websocketCredential(
  conf: WebSocketCredentialConfig | undefined,
  header: string,
  bearer: boolean,
): ((ctx: RequestContext) => void) | undefined {
  if (conf === undefined) return undefined;
  const { query_param: param, cookie, subprotocol_prefix: prefix } = conf;
  if (param === undefined && cookie === undefined && prefix === undefined) return undefined;
  return (ctx) => {
    if (!ctx.websocket || ctx.headers[header] !== undefined) return;
    const found =
      (param !== undefined ? fromQuery(ctx, param) : undefined) ??
      (prefix !== undefined ? fromSubprotocol(ctx, prefix) : undefined) ??
      (cookie !== undefined ? fromCookie(ctx.headers.cookie, cookie) : undefined);
    if (found !== undefined && found !== '') ctx.headers[header] = bearer ? `Bearer ${found}` : found;
  };
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

function fromCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) return safeDecode(part.slice(eq + 1).trim());
  }
  return undefined;
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return value;
  }
}
