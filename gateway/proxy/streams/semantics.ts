import { splitListen } from '../../../shared/listen.ts';
import type { Config } from '../../control/config/schema.ts';
import { checkListenerTls, type ListenerTls } from '../listeners/certificates.ts';
import { clash, httpListenAddresses } from '../listeners/semantics.ts';
import { ADMIN_LISTENER, PROXY_LISTENER } from '../listeners/names.ts';
import { cidrErrors } from '../net/cidr.ts';
import { checkTls } from '../upstream/tls-files.ts';
import { checkTargetSources } from '../upstream/semantics.ts';
import type { StreamConfig, StreamUpstreamConfig } from './schema.ts';
import { asUpstreamConfig } from './upstream.ts';

type Report = (path: string, message: string) => void;

/**
 * Rules for `streams` a schema cannot state: names unique and no service's, addresses no other listener's, an
 * upstream to send to, TLS either terminated or passed through, files readable (relative listener paths against
 * the config file's directory, `env`).
 */
export function checkStreams(config: Config, err: Report, env: NodeJS.ProcessEnv = process.env): void {
  if (!Array.isArray(config.streams)) return;
  const services = new Set((config.services ?? []).map((s) => s.name));
  // Listener names label the TLS metrics a terminating stream reports under its own name (the admin listener's
  // once it has TLS).
  const listeners = new Set([PROXY_LISTENER, ...(config.listeners ?? []).map((l) => l.name)]);
  if (config.admin?.tls) listeners.add(ADMIN_LISTENER);
  const names = new Map<string, number>();
  const taken = httpListenAddresses(config);
  config.streams.forEach((stream, i) => {
    const at = `/streams/${i}`;
    const first = names.get(stream.name);
    if (first !== undefined) err(`${at}/name`, `"${stream.name}" is already the name of streams/${first}`);
    else names.set(stream.name, i);
    if (services.has(stream.name))
      err(`${at}/name`, `"${stream.name}" is a service's name; metrics and events tell them apart by name`);
    if (listeners.has(stream.name))
      err(`${at}/name`, `"${stream.name}" is a listener's name; TLS metrics tell them apart by name`);
    const { port } = splitListen(stream.listen);
    if (!(port >= 0 && port <= 65535)) err(`${at}/listen`, 'port must be 0-65535 (0 = any free port)');
    const other = taken.find((t) => clash(t.listen, stream.listen));
    if (other) err(`${at}/listen`, `${stream.listen} is the address of ${other.path} (${other.listen})`);
    taken.push({ listen: stream.listen, path: `streams/${i}/listen` });
    checkStream(stream, at, config, err, env);
  });
}

function checkStream(stream: StreamConfig, at: string, config: Config, err: Report, env: NodeJS.ProcessEnv): void {
  if (!stream.upstream && !stream.sni) err(`${at}/upstream`, 'required (or sni routes, for TLS passthrough)');
  if (stream.tls && stream.sni)
    err(`${at}/sni`, 'sni passes TLS through untouched, tls terminates it: a stream does one or the other');
  if (stream.tls) checkListenerTls(stream.tls as ListenerTls, `${at}/tls`, err, env);
  if (stream.tls?.client_certificates?.forward_details)
    err(`${at}/tls/client_certificates/forward_details`, 'a TCP stream has no HTTP headers to carry it');
  if (stream.upstream) checkStreamUpstream(stream.upstream, `${at}/upstream`, stream, err);
  const routes = new Map<string, number>();
  const serverNames = new Map<string, string>();
  stream.sni?.forEach((route, ri) => {
    const base = `${at}/sni/${ri}`;
    if (routes.has(route.name))
      err(`${base}/name`, `"${route.name}" is already the name of sni/${routes.get(route.name)}`);
    routes.set(route.name, ri);
    route.server_names.forEach((name, ni) => {
      const key = name.toLowerCase();
      const owner = serverNames.get(key);
      if (owner !== undefined) err(`${base}/server_names/${ni}`, `${name} is already taken by sni route ${owner}`);
      serverNames.set(key, route.name);
    });
    checkStreamUpstream(route.upstream, `${base}/upstream`, stream, err);
  });
  if (stream.proxy_protocol.accept && (config.trusted_proxies ?? []).length === 0)
    err(
      `${at}/proxy_protocol/accept`,
      'needs trusted_proxies: only a load balancer listed there may say who the client is',
    );
  if (stream.acl) {
    for (const list of ['allow', 'deny'] as const)
      for (const e of cidrErrors(stream.acl[list])) err(`${at}/acl/${list}/${e.index}`, e.message);
  }
}

function checkStreamUpstream(up: StreamUpstreamConfig, base: string, stream: StreamConfig, err: Report): void {
  checkTargetSources(up, base, err, 'at least one target (or dns, or discovery) is required');
  const seen = new Set<string>();
  up.targets.forEach((t, ti) => {
    const url = t.url.toLowerCase();
    if (seen.has(url)) err(`${base}/targets/${ti}/url`, `duplicate target ${t.url}`);
    seen.add(url);
    // A URL that does not end in a port has had its pattern error already.
    const port = /:(\d+)$/.exec(url)?.[1];
    if (port !== undefined && !(Number(port) >= 1 && Number(port) <= 65535))
      err(`${base}/targets/${ti}/url`, 'port must be 1-65535');
  });
  // Reads the TLS files into up.tls (the object the pool is built from shares it).
  checkTls(asUpstreamConfig(up, stream), base, err, true);
}
