/**
 * A target that is one of the gateway's own listeners is refused: what the gateway sends there comes back to it, is
 * routed to the same target, and so on until the upstream pool is full; the requests then wait out their timeout
 * (a service whose target was its own proxy.listen answered 504 after 30 s, with 140 connections to itself open).
 * Only what a config names can be checked: targets from DNS or a registry are not.
 */
import { isIP } from 'node:net';
import { splitListen } from '../../../shared/listen.ts';
import { isLoopback } from '../../control/admin/loopback.ts';
import type { Config } from '../../control/config/schema.ts';
import { httpListenAddresses } from '../listeners/semantics.ts';

type Report = (path: string, message: string) => void;
const DEFAULT_PORTS: Readonly<Record<string, number>> = { 'http:': 80, 'https:': 443 };

/** The config's listen addresses with a fixed port (port 0 takes a free one, so no target can name it). */
function ownListeners(config: Config): { listen: string; path: string }[] {
  const streams = (config.streams ?? []).map((s, i) => ({ listen: s.listen, path: `streams/${i}/listen` }));
  return [...httpListenAddresses(config), ...streams].filter((o) => splitListen(o.listen).port > 0);
}

/** Whether a connection to `url` reaches a listener on `listen` of this machine. */
export function reachesListener(url: string, listen: string): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  const port = u.port === '' ? DEFAULT_PORTS[u.protocol] : Number(u.port);
  const own = splitListen(listen);
  if (port !== own.port) return false;
  const host = u.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const at = own.host.toLowerCase();
  if (host === at) return true;
  // A listener on every address takes what is sent to any of this machine's own; loopback is the one known here.
  if (at === '0.0.0.0') return host === '0.0.0.0' || (isLoopback(host) && isIP(host) !== 6);
  if (at === '::') return host === '::' || host === '0.0.0.0' || isLoopback(host);
  return host === 'localhost' && isLoopback(at);
}

export function checkSelfTargets(config: Config, err: Report): void {
  const own = ownListeners(config);
  const check = (targets: readonly { url: string }[] | undefined, base: string) =>
    targets?.forEach((t, i) => {
      const hit = own.find((o) => reachesListener(t.url, o.listen));
      if (hit)
        err(
          `${base}/targets/${i}/url`,
          `${t.url} is this gateway's own ${hit.path} (${hit.listen}): ` +
            'what it sent there would come back to it in a loop',
        );
    });
  config.services?.forEach((s, si) => {
    check(s.upstream?.targets, `/services/${si}/upstream`);
    s.canary?.groups.forEach((g, gi) => check(g.upstream?.targets, `/services/${si}/canary/groups/${gi}/upstream`));
  });
  config.streams?.forEach((s, i) => {
    check(s.upstream?.targets, `/streams/${i}/upstream`);
    s.sni?.forEach((r, ri) => check(r.upstream?.targets, `/streams/${i}/sni/${ri}/upstream`));
  });
}
