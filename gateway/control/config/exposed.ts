/**
 * Settings a config may hold that anyone on the network path between the gateway and another party can exploit:
 * an external issuer's keys fetched over plain HTTP from another machine (whoever answers instead of the issuer
 * serves keys that sign any token, for any app) and upstream TLS that checks no certificate (`tls.verify: false`).
 * Both are allowed (an issuer on a private network, a lab); each is logged at warn, naming the field, when a config
 * version holding it is applied (once: renewed TLS files applied under the same version do not repeat it).
 */
import { isLoopback } from '../admin/loopback.ts';
import type { Config } from './schema.ts';

export function exposedSettings(config: Config): { path: string; why: string }[] {
  const out: { path: string; why: string }[] = [];
  config.services.forEach((svc, si) => {
    const base = `/services/${si}`;
    svc.auth?.issuers?.forEach((issuer, ii) => {
      const url = URL.parse(issuer.jwks_url);
      if (url?.protocol === 'http:' && !isLoopback(url.hostname))
        out.push({ path: `${base}/auth/issuers/${ii}/jwks_url`, why: 'keys fetched over plain HTTP' });
    });
    const upstreams = [svc.upstream, ...(svc.canary?.groups.map((g) => g.upstream) ?? [])];
    upstreams.forEach((up, ui) => {
      if (up.tls?.verify === false)
        out.push({
          path: ui === 0 ? `${base}/upstream/tls/verify` : `${base}/canary/groups/${ui - 1}/upstream/tls/verify`,
          why: 'upstream certificates not checked',
        });
    });
  });
  return out;
}
