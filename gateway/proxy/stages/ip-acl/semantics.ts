import type { Config } from '../../../control/config/schema.ts';
import { cidrErrors } from '../../net/cidr.ts';
import { regexError } from '../../router/linear-regex.ts';

type Report = (path: string, message: string) => void;
type Service = Config['services'][number];

function cidrs(list: unknown, path: string, err: Report): void {
  if (!Array.isArray(list)) return;
  for (const e of cidrErrors(list)) err(`${path}/${e.index}`, e.message);
}

/** trusted_proxies entries are CIDRs or addresses. */
export function checkTrustedProxies(config: Config, err: Report): void {
  cidrs(config.trusted_proxies, '/trusted_proxies', err);
}

/**
 * The access-control parts of one service: CIDRs parse, CORS origin regexes
 * compile and `*` is not combined with credentials, RBAC grants name routes of
 * this service and RBAC has an authentication to read roles from.
 */
export function checkAccessControl(svc: Service, base: string, err: Report): void {
  if (svc.acl) {
    cidrs(svc.acl.allow, `${base}/acl/allow`, err);
    cidrs(svc.acl.deny, `${base}/acl/deny`, err);
  }
  const cors = svc.cors;
  if (cors && Array.isArray(cors.allow_origins)) {
    cors.allow_origins.forEach((o, i) => {
      if (o.startsWith('~')) {
        const e = regexError(o.slice(1));
        if (e) err(`${base}/cors/allow_origins/${i}`, e);
      } else if (o !== '*' && o !== 'null' && !/^[a-z][a-z0-9+.-]*:\/\/[^/?#\s]+$/i.test(o)) {
        err(
          `${base}/cors/allow_origins/${i}`,
          'must be `*`, `~regex` or an origin like https://app.example.com (scheme://host[:port], no path)',
        );
      }
    });
    if (cors.allow_credentials && cors.allow_origins.includes('*')) {
      err(
        `${base}/cors/allow_credentials`,
        'cannot be combined with allow_origins `*` (any site could read credentialed responses); list the origins',
      );
    }
  }
  // An email address or a URI holds `@`, `.`, `:` or `/`, which no app id does: no certificate would ever pass.
  const mtls = svc.auth?.type === 'mtls' ? svc.auth.mtls : undefined;
  if (mtls?.require_app !== false && (mtls?.app_from === 'san_email' || mtls?.app_from === 'san_uri'))
    err(
      `${base}/auth/mtls/require_app`,
      `an ${mtls.app_from === 'san_uri' ? 'URI' : 'email'} subjectAltName is never an app id (letters, digits, ` +
        '`_` and `-`): set require_app false, which takes it as the app id as it is',
    );
  const rbac = svc.rbac;
  if (rbac?.enabled) {
    if (!svc.auth || svc.auth.type === 'none')
      err(`${base}/rbac/enabled`, 'RBAC needs auth.type jwt, api_key or mtls: roles come from the authenticated app');
    const names = new Set(svc.routes.map((r, i) => r.name ?? `${svc.name}-${i}`));
    for (const [role, grants] of Object.entries(rbac.roles ?? {})) {
      // Role names are the strings apps carry (the admin API allows the same characters).
      if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(role))
        err(`${base}/rbac/roles/${role}`, 'a role name is 1-64 letters, digits, `_`, `.`, `:` or `-`');
      if (!Array.isArray(grants)) continue;
      grants.forEach((g, gi) => {
        (g.routes ?? []).forEach((r, ri) => {
          if (r !== '*' && !names.has(r))
            err(`${base}/rbac/roles/${role}/${gi}/routes/${ri}`, `no route "${r}" in service ${svc.name}`);
        });
      });
    }
  }
}
