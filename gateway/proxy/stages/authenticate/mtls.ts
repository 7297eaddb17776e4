import type { TLSSocket } from 'node:tls';
import type { RequestContext } from '../../context.ts';
import type { StageResult } from '../../pipeline.ts';
import type { AuthConfig } from './schema.ts';
import { isAppIdText } from './app-id-text.ts';

export type AppFrom = AuthConfig['mtls']['app_from'];

const SAN_PREFIX = { san_dns: 'DNS:', san_email: 'email:', san_uri: 'URI:' } as const;

/**
 * The subjectAltNames in Node's rendering of them (`DNS:a, URI:spiffe://x`), in order, each its kind (`DNS`, `URI`,
 * `email`, ...) and name. Node writes a name that holds a comma, quote or other character that could be read as a
 * separator as a JSON string (`URI:"a,b"`); such an entry is read back as one name, and left out when it does not
 * parse, as an empty one is.
 */
export function subjectAltNames(rendered: string): { kind: string; name: string }[] {
  const out: { kind: string; name: string }[] = [];
  for (const entry of rendered.match(/(?:[^,"]|"(?:[^"\\]|\\.)*")+/g) ?? []) {
    const text = entry.trim();
    const colon = text.indexOf(':');
    if (colon === -1) continue;
    let name = text.slice(colon + 1);
    if (name.startsWith('"')) {
      try {
        name = JSON.parse(name) as string;
      } catch {
        continue;
      }
    }
    if (name !== '') out.push({ kind: text.slice(0, colon), name });
  }
  return out;
}

/** The first subjectAltName of a kind (`prefix`: `DNS:`, `URI:`, `email:`). */
export const subjectAltNameOf = (rendered: string, prefix: string): string | undefined =>
  subjectAltNames(rendered).find((n) => `${n.kind}:` === prefix)?.name;

/** A connection's certificate identity by field: a certificate is parsed once per connection, not per request. */
const identities = new WeakMap<object, { from: AppFrom; id: string | undefined }>();

/**
 * The app id the client certificate of `socket` names by `from`; undefined
 * when the connection is not TLS or its certificate was not verified by the
 * listener (an optional client_certificates listener lets those through), or
 * has no such field. On HTTP/2, `socket` is Node's stand-in for the session's
 * socket, one per session, so this is read once per connection too.
 */
export function certificateApp(socket: object, from: AppFrom): string | undefined {
  const tls = socket as Partial<TLSSocket>;
  if (tls.authorized !== true || typeof tls.getPeerCertificate !== 'function') return undefined;
  const known = identities.get(socket);
  if (known !== undefined && known.from === from) return known.id;
  const cert = tls.getPeerCertificate();
  let id: string | undefined;
  if (from === 'cn') {
    const cn = cert.subject?.CN as string | string[] | undefined;
    id = Array.isArray(cn) ? cn[0] : cn;
  } else {
    id = subjectAltNameOf(cert.subjectaltname ?? '', SAN_PREFIX[from]);
  }
  identities.set(socket, { from, id: id || undefined });
  return id || undefined;
}

export interface MtlsOutcome {
  /** The caller: an app id, with its registered app when there is one. */
  accept(ctx: RequestContext, appId: string, app: RequestContext['app']): undefined;
  reject(
    ctx: RequestContext,
    code: 'GW_ERR_CLIENT_CERT_REQUIRED' | 'GW_ERR_CLIENT_CERT_UNKNOWN' | 'GW_ERR_APP_DISABLED',
  ): false;
}

/** `mtls`: the verified client certificate names the app; nothing to look up or verify per request. */
export function mtlsHandler(config: AuthConfig['mtls'], outcome: MtlsOutcome) {
  return (ctx: RequestContext): StageResult => {
    const appId = certificateApp(ctx.req.socket, config.app_from);
    if (appId === undefined) return outcome.reject(ctx, 'GW_ERR_CLIENT_CERT_REQUIRED');
    const app = ctx.route!.runtime.identity.apps.get(appId);
    if (app === undefined) {
      // A registered app's id is one already; a name that is none goes upstream and into the event as the app.
      if (config.require_app || !isAppIdText(appId)) return outcome.reject(ctx, 'GW_ERR_CLIENT_CERT_UNKNOWN');
      return outcome.accept(ctx, appId, undefined);
    }
    if (app.status !== 'enabled') {
      ctx.appId = appId;
      return outcome.reject(ctx, 'GW_ERR_APP_DISABLED');
    }
    return outcome.accept(ctx, appId, app);
  };
}
