import type { ErrorCode } from '../../../errors.ts';
import type { RouteMatch } from '../../router/route-table.ts';
import type { CompiledRoute } from '../../snapshot.ts';
import { canonicalPath, hasPathParams, hasSeparatorEscapes } from '../../router/canonical-path.ts';
import type { PathHandling } from './schema.ts';

/**
 * A route's own action on escaped separators, or undefined for the listener's.
 * rbac.allow_encoded_slash predates escaped_slashes and means what `keep` means.
 */
export function ownEscapedSlashes(
  route: { escaped_slashes?: 'reject' | 'decode' | 'keep' },
  service: { rbac?: { allow_encoded_slash?: boolean } },
): 'reject' | 'decode' | 'keep' | undefined {
  return route.escaped_slashes ?? (service.rbac?.allow_encoded_slash ? 'keep' : undefined);
}

export type Found = RouteMatch<CompiledRoute> | undefined;

export interface ResolvedPath {
  /** The canonical path: routed, judged and counted. */
  path: string;
  /** The path sent upstream when it differs: the canonical path with the ;params path_params: keep kept. */
  forwardPath: string | undefined;
  match: Found;
}

/** What escaped separators get on `route`: its own setting, else the listener's. */
function separatorAction(route: CompiledRoute | undefined, listener: PathHandling): 'reject' | 'decode' | 'keep' {
  return (route && ownEscapedSlashes(route.config, route.service.config)) ?? listener.escaped_slashes;
}

/**
 * The slow path of routing, for a path that is not already canonical.
 * Every decision is taken on the most decoded reading first (separators read
 * as `/`, params dropped), which is how the most lenient upstream reads it.
 * A route's `escaped_slashes: keep` may then keep the escapes, but only when
 * the kept form reaches the same route: a kept escape can never make a
 * broader route win. Kept ;params go upstream only; routing and every stage
 * read the path without them, as Java servers do.
 */
export function resolvePath(
  raw: string,
  listener: PathHandling,
  find: (path: string) => Found,
): ResolvedPath | ErrorCode {
  const merge = listener.merge_slashes;
  const decoded = canonicalPath(raw, { mergeSlashes: merge, keepSeparators: false, keepParams: false });
  if (decoded.charCodeAt(0) !== 47) return decoded as ErrorCode;
  let path = decoded;
  let match = find(decoded);
  const separators = hasSeparatorEscapes(raw);
  const params = hasPathParams(raw);
  if (!separators && !params) return { path, forwardPath: undefined, match };
  const action = separators ? separatorAction(match?.route, listener) : 'decode';
  if (action === 'reject') return 'GW_ERR_PATH_ESCAPED_SEPARATOR';
  if (params && listener.path_params === 'reject') return 'GW_ERR_PATH_PARAMETERS';
  const keepSeparators = action === 'keep';
  if (keepSeparators) {
    const kept = canonicalPath(raw, { mergeSlashes: merge, keepSeparators, keepParams: false });
    if (kept.charCodeAt(0) !== 47) return kept as ErrorCode;
    const keptMatch = find(kept);
    if (keptMatch?.route !== match?.route) return 'GW_ERR_PATH_AMBIGUOUS';
    path = kept;
    match = keptMatch;
  }
  if (!params || listener.path_params !== 'keep') return { path, forwardPath: undefined, match };
  const forward = canonicalPath(raw, { mergeSlashes: merge, keepSeparators, keepParams: true });
  if (forward.charCodeAt(0) !== 47) return forward as ErrorCode;
  return { path, forwardPath: forward === path ? undefined : forward, match };
}
