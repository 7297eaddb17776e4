import type { ServiceConfig } from '../../../control/config/schema.ts';

type RbacConfig = NonNullable<ServiceConfig['rbac']>;

interface Grant {
  /** undefined = any method. */
  methods: ReadonlySet<string> | undefined;
  /** Segment-aware prefixes; undefined = the whole route. */
  paths: readonly string[] | undefined;
}

/**
 * What each role may do on one route, compiled at init: roles with a
 * whole-route, any-method grant in a set (the common case is one Set lookup
 * per role the app holds), the rest as grant lists. Nothing is allocated per
 * request.
 */
export class RouteGrants {
  private readonly full = new Set<string>();
  private readonly partial = new Map<string, Grant[]>();

  constructor(rbac: RbacConfig, routeName: string, lowerCasePaths: boolean) {
    for (const [role, grants] of Object.entries(rbac.roles)) {
      for (const g of grants) {
        if (!g.routes.includes('*') && !g.routes.includes(routeName)) continue;
        const anyMethod = g.methods.includes('*');
        if (anyMethod && g.paths.length === 0) {
          this.full.add(role);
          continue;
        }
        const list = this.partial.get(role) ?? [];
        // HEAD is GET without the body: a GET grant covers it (as in most gateways and frameworks).
        const methods = new Set(g.methods);
        if (methods.has('GET')) methods.add('HEAD');
        list.push({
          methods: anyMethod ? undefined : methods,
          paths: g.paths.length ? g.paths.map((p) => trimSlash(lowerCasePaths ? p.toLowerCase() : p)) : undefined,
        });
        this.partial.set(role, list);
      }
    }
  }

  /** True when one of `roles` grants `method` on `path` (normalised; lower-cased when the service says paths are
   * case-insensitive). */
  allows(roles: readonly string[], method: string, path: string): boolean {
    for (let i = 0; i < roles.length; i++) {
      const role = roles[i];
      if (this.full.has(role)) return true;
      const grants = this.partial.get(role);
      if (grants === undefined) continue;
      for (let j = 0; j < grants.length; j++) {
        const g = grants[j];
        if (g.methods !== undefined && !g.methods.has(method)) continue;
        if (g.paths === undefined || underAny(path, g.paths)) return true;
      }
    }
    return false;
  }
}

const trimSlash = (p: string) => (p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p);

/** Prefixes match whole segments, like route prefixes: /a grants /a and /a/b, never /ab. */
function underAny(path: string, prefixes: readonly string[]): boolean {
  for (let i = 0; i < prefixes.length; i++) {
    const p = prefixes[i];
    if (!path.startsWith(p)) continue;
    if (path.length === p.length || p === '/' || path.charCodeAt(p.length) === 47) return true;
  }
  return false;
}

/** Anonymous paths as the authenticate stage reads them: exact, or a prefix when ending in `*`. */
export function anonymousMatcher(paths: readonly string[]): ((path: string) => boolean) | undefined {
  if (paths.length === 0) return undefined;
  const exact = new Set(paths.filter((p) => !p.endsWith('*')));
  const prefixes = paths.filter((p) => p.endsWith('*')).map((p) => p.slice(0, -1));
  return (path) => {
    if (exact.has(path)) return true;
    for (let i = 0; i < prefixes.length; i++) if (path.startsWith(prefixes[i])) return true;
    return false;
  };
}
