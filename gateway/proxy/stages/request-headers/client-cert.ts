/**
 * X-Forwarded-Client-Cert, in Envoy's format, so an upstream behind the gateway can authorize by the client
 * certificate a listener verified (`tls.client_certificates.forward_details`): `Hash=<SHA-256 of its DER, hex>;
 * Subject="<RFC 2253 subject>"`, then `URI=` and `DNS=` for each of those subjectAltNames. The header a client sent
 * itself is removed unless its connection comes from `trusted_proxies` (a proxy in front that set it): a client
 * must not be able to name a certificate it does not hold, as it cannot name an app.
 */
import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { CidrMatcher } from '../../net/cidr.ts';
import { unmapIp } from '../../net/ip.ts';
import type { RequestContext } from '../../context.ts';
import { subjectAltNames } from '../authenticate/mtls.ts';

export const XFCC = 'x-forwarded-client-cert';

/** A connection's details, made once per connection (on HTTP/2 `socket` is one stand-in per session). */
const details = new WeakMap<object, string>();

/** The details of the client certificate `socket`'s listener verified; undefined without one. */
export function clientCertDetails(socket: object): string | undefined {
  const tls = socket as Partial<TLSSocket>;
  if (tls.authorized !== true || typeof tls.getPeerCertificate !== 'function') return undefined;
  let text = details.get(socket);
  if (text === undefined) {
    const raw = tls.getPeerCertificate().raw;
    if (raw === undefined) return undefined;
    text = describe(new X509Certificate(raw));
    details.set(socket, text);
  }
  return text;
}

function describe(cert: X509Certificate): string {
  const hash = cert.fingerprint256.replaceAll(':', '').toLowerCase();
  // Node lists the subject's attributes one a line, outermost first, their values escaped as RFC 2253 escapes them
  // (`CN=acme\, inc`); RFC 2253 writes them innermost first, comma-separated.
  const subject = cert.subject.split('\n').reverse().join(',');
  let out = `Hash=${hash};Subject=${quoted(asciiSubject(subject))}`;
  for (const { kind, name } of subjectAltNames(cert.subjectAltName ?? '')) {
    if (kind === 'URI') out += `;URI=${quoted(percentEscaped(name))}`;
    else if (kind === 'DNS') out += `;DNS=${percentEscaped(name)}`;
  }
  return out;
}

const quoted = (value: string) => `"${value.replace(/["\\]/g, '\\$&')}"`;

/**
 * A header value carries printable ASCII. Sent as they were, a subject such as `CN=张三` made undici refuse the
 * header, and every request of that client failed (a 502 that ejected the target). A subject's other characters go
 * as their UTF-8 bytes, each `\XX` (RFC 4514's escape of a byte: `CN=J\C3\BCrgen`), then quoted as any `\` is.
 */
const asciiSubject = (subject: string): string =>
  subject.replace(/[^\x20-\x7e]/gu, (c) => Array.from(Buffer.from(c), (b) => `\\${hex(b)}`).join(''));

/** A URI or DNS name, its bytes beyond printable ASCII percent-encoded: IA5String (RFC 5280), a byte a character. */
function percentEscaped(name: string): string {
  return name.replace(/[^\x21-\x7e]/gu, (c) => {
    const code = c.codePointAt(0) ?? 0;
    return code <= 0xff ? `%${hex(code)}` : Array.from(Buffer.from(c), (b) => `%${hex(b)}`).join('');
  });
}

const hex = (byte: number): string => byte.toString(16).toUpperCase().padStart(2, '0');

/**
 * The upstream request's X-Forwarded-Client-Cert: the client's own removed unless it came from a trusted proxy,
 * then this connection's certificate added when the listener forwards it.
 */
export function forwardClientCert(
  ctx: RequestContext,
  h: Record<string, string | string[]>,
  trusted: CidrMatcher,
): void {
  const incoming = h[XFCC];
  let kept: string | undefined;
  if (incoming !== undefined) {
    const peer = unmapIp(ctx.req.socket.remoteAddress ?? '');
    if (trusted.contains(peer) && typeof incoming === 'string') kept = incoming;
    else delete h[XFCC];
  }
  if (ctx.listener.tls?.client_certificates?.forward_details !== true) return;
  const mine = clientCertDetails(ctx.req.socket);
  if (mine !== undefined) h[XFCC] = kept === undefined ? mine : `${kept},${mine}`;
}
