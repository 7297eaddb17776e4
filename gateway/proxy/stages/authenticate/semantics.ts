import type { ServiceConfig } from '../../../control/config/schema.ts';

type Report = (path: string, message: string) => void;

/**
 * A hash balancer or a sticky canary keyed by a header that authentication removes before the upstream is picked
 * (the API key always; the token's Authorization with hide_credentials) would find it missing on every request and
 * fall back to the client address without a word: refused here instead, naming what to key by.
 */
export function checkRemovedKeys(svc: ServiceConfig, base: string, err: Report): void {
  const auth = svc.auth;
  const removed =
    auth?.type === 'api_key'
      ? auth.api_key_header.toLowerCase()
      : auth?.type === 'jwt' && auth.hide_credentials
        ? 'authorization'
        : undefined;
  if (removed === undefined) return;
  const why = `${removed} carries the credential, which is removed before the upstream is picked: key by the app`;
  const check = (key: { source: string; name?: string } | undefined, path: string, instead: string): void => {
    if (key?.source === 'header' && key.name?.toLowerCase() === removed) err(path, `${why} (${instead})`);
  };
  check(svc.upstream.hash_on, `${base}/upstream/hash_on/name`, 'hash_on.source: app');
  svc.canary?.groups.forEach((g, gi) =>
    check(g.upstream.hash_on, `${base}/canary/groups/${gi}/upstream/hash_on/name`, 'hash_on.source: app'),
  );
  check(svc.canary?.sticky, `${base}/canary/sticky/name`, 'sticky.source: app');
}
