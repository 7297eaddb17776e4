import type { Config } from '../../../control/config/schema.ts';
import { canonicalPath, hasPathParams, hasSeparatorEscapes } from '../../router/canonical-path.ts';

type Report = (path: string, message: string) => void;
type RouteConfig = Config['services'][number]['routes'][number];

/**
 * Route paths are compared with canonical request paths, so one written in
 * another form could never match: it is refused with the form to write.
 */
export function checkRoutePaths(
  route: RouteConfig,
  rbase: string,
  paths: Config['proxy']['paths'],
  keepsSeparators: boolean,
  err: Report,
): void {
  route.paths.forEach((p, pi) => {
    if (p.startsWith('~')) return;
    const path = p.startsWith('=') ? p.slice(1) : p;
    if (!path.startsWith('/')) return;
    const where = `${rbase}/paths/${pi}`;
    const canonical = canonicalPath(path, {
      mergeSlashes: paths.merge_slashes,
      keepSeparators: true,
      keepParams: true,
    });
    if (canonical.charCodeAt(0) !== 47) {
      err(where, `is not a valid path (${canonical})`);
    } else if (canonical !== path) {
      err(
        where,
        'is not in canonical form, so no request would match it; ' +
          `write ${p.startsWith('=') ? '=' : ''}${canonical} (docs/path-handling.md)`,
      );
    } else if (hasSeparatorEscapes(path) && !keepsSeparators) {
      err(where, 'holds %2F or %5C, which only a route with escaped_slashes: keep can match');
    } else if (hasPathParams(path) && paths.path_params !== 'keep') {
      err(where, `holds ;parameters, which proxy.paths.path_params: ${paths.path_params} never lets reach a route`);
    }
  });
  if (route.forward_original_path && (route.strip_prefix || route.rewrite)) {
    err(
      `${rbase}/forward_original_path`,
      'cannot be combined with strip_prefix or rewrite, which change the canonical path',
    );
  }
}
