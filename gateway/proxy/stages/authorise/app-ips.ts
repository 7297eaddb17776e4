import type { App } from '../../../control/apps/types.ts';
import { cidrErrors, compileCidrs, type CidrMatcher } from '../../net/cidr.ts';
import { stateOf, type Runtime } from '../../runtime.ts';

interface Entry {
  list: readonly string[];
  matcher: CidrMatcher;
}

/**
 * Each app's allowedIps compiled once per App object. The Identity is replaced
 * whole (never mutated), so an app whose list changes arrives as a new object;
 * the WeakMap lets the old compilation go with the old Identity, which bounds
 * it by the apps alive. The list identity is checked too, in case a record is
 * ever reused with a new list.
 */
export function appIpMatcher(runtime: Runtime, app: App): CidrMatcher {
  const cache = stateOf(runtime, 'acl:app-ips', () => new WeakMap<App, Entry>());
  const hit = cache.get(app);
  if (hit !== undefined && hit.list === app.allowedIps) return hit.matcher;
  // An invalid entry (the admin API should have refused it) is dropped and logged; a list left empty refuses every
  // address.
  const bad = new Set(cidrErrors(app.allowedIps).map((e) => e.index));
  if (bad.size)
    runtime.log.warn(
      { app_id: app.id, invalid: app.allowedIps.filter((_, i) => bad.has(i)) },
      'app allowedIps has invalid entries; they are ignored',
    );
  const matcher = compileCidrs(app.allowedIps.filter((_, i) => !bad.has(i)));
  cache.set(app, { list: app.allowedIps, matcher });
  return matcher;
}
