import type { RouteStage } from '../../pipeline.ts';
import { compileCidrs } from '../../net/cidr.ts';
import { accessMetrics } from './metrics.ts';

/**
 * The service's IP lists against ctx.clientIp (already resolved through
 * trusted proxies). Deny wins; an empty allow list allows everyone not denied.
 * The app's own `allowedIps` are checked in authorise, once the app is known.
 */
export const ipAcl: RouteStage = {
  name: 'ip-acl',
  scope: 'route',
  init: (route) => {
    const acl = route.service.config.acl;
    if (!acl || (acl.allow.length === 0 && acl.deny.length === 0)) return undefined;
    const allow = acl.allow.length ? compileCidrs(acl.allow) : undefined;
    const deny = acl.deny.length ? compileCidrs(acl.deny) : undefined;
    const denied = accessMetrics(route.runtime).ipDenied.labels(route.service.name, 'service');
    return (ctx) => {
      const ip = ctx.clientIp;
      if (deny?.contains(ip) || (allow !== undefined && !allow.contains(ip))) {
        denied.inc();
        return ctx.reply('GW_ERR_IP_DENIED');
      }
    };
  },
};
