import type { EdgeStage } from '../../pipeline.ts';
import type { RequestContext } from '../../context.ts';
import { type CidrMatcher, trustedProxies } from '../../net/cidr.ts';
import { canonicalIp, isIp, unmapIp } from '../../net/ip.ts';

/**
 * The client address every later stage (IP lists, rate limits, the access
 * event) sees. X-Forwarded-For is read only when the socket peer is a trusted
 * proxy, right to left, skipping trusted hops (nginx `real_ip_recursive on`):
 * the first untrusted entry is the client. Entries left of it were written by
 * the client and are never looked at, so a spoofed header changes nothing.
 * A malformed entry on the walk makes the whole header ignored (nginx does the
 * same): the socket address stays. An IPv6 entry is taken in its one RFC 5952
 * spelling (canonicalIp), however the proxy wrote it.
 */
export function resolveClientIp(peer: string, xff: string | undefined, trusted: CidrMatcher): string {
  if (xff === undefined || !trusted.contains(peer)) return peer;
  let end = xff.length;
  let client = peer;
  while (end > 0) {
    const comma = xff.lastIndexOf(',', end - 1);
    let s = comma + 1;
    let e = end;
    while (s < e && (xff.charCodeAt(s) === 32 || xff.charCodeAt(s) === 9)) s++;
    while (e > s && (xff.charCodeAt(e - 1) === 32 || xff.charCodeAt(e - 1) === 9)) e--;
    if (!isIp(xff, s, e)) return peer;
    client = canonicalIp(xff.slice(s, e));
    if (!trusted.contains(client)) return client;
    end = comma === -1 ? 0 : comma;
  }
  // Every hop trusted: the leftmost is as close to the client as we can know.
  return client;
}

export const clientIp: EdgeStage = {
  name: 'client-ip',
  scope: 'edge',
  init: (snapshot) => {
    const list = snapshot.config.trusted_proxies ?? [];
    if (list.length === 0) {
      // Nothing to believe: only a dual-stack listener's `::ffff:` prefix to drop.
      return (ctx: RequestContext) => {
        const ip = ctx.clientIp;
        if (ip.charCodeAt(0) === 58) ctx.clientIp = unmapIp(ip);
      };
    }
    const trusted = trustedProxies(list);
    return (ctx: RequestContext) => {
      const peer = ctx.clientIp.charCodeAt(0) === 58 ? unmapIp(ctx.clientIp) : ctx.clientIp;
      const xff = ctx.headers['x-forwarded-for'];
      // Node joins repeated X-Forwarded-For fields into one string, so an array never arrives.
      ctx.clientIp = typeof xff === 'string' ? resolveClientIp(peer, xff, trusted) : peer;
    };
  },
};
