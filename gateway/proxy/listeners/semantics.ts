import { splitListen } from '../../../shared/listen.ts';
import type { Config } from '../../control/config/schema.ts';
import { checkListenerTls, type ListenerTls } from './certificates.ts';
import { ADMIN_LISTENER, PROXY_LISTENER } from './names.ts';
import type { ListenerConfig, ListenerProtocol } from './schema.ts';

type Report = (path: string, message: string) => void;

const ANY_HOST = new Set(['0.0.0.0', '::', '[::]']);

/** Whether two host:port listen addresses would claim the same port (port 0 picks a free one: never). */
export function clash(a: string, b: string): boolean {
  const x = splitListen(a);
  const y = splitListen(b);
  if (x.port === 0 || x.port !== y.port) return false;
  return x.host === y.host || ANY_HOST.has(x.host) || ANY_HOST.has(y.host);
}

/**
 * Whether `config` gives `listen`, where the `kind` named `name` listens now, to another listener or stream. A
 * server that moves keeps its old address until it listens at the new one; one whose old address goes to another
 * lets go of it at once, else two that swap addresses would each wait for the other for good.
 */
export function givenToAnother(config: Config, kind: 'listener' | 'stream', name: string, listen: string): boolean {
  const others = [
    ...config.listeners.filter((l) => kind !== 'listener' || l.name !== name),
    ...config.streams.filter((s) => kind !== 'stream' || s.name !== name),
  ];
  return others.some((other) => clash(other.listen, listen));
}

/** The addresses of the gateway's HTTP listeners, each with its place in the config (`proxy/listen`, …). */
export function httpListenAddresses(config: Config): { listen: string; path: string }[] {
  return [
    { listen: config.proxy.listen, path: 'proxy/listen' },
    { listen: config.admin.listen, path: 'admin/listen' },
    ...(config.listeners ?? []).map((l, i) => ({ listen: l.listen, path: `listeners/${i}/listen` })),
  ];
}

/** A listener's protocols, its default filled in: [h2, http/1.1] with tls, [http/1.1] without. */
export function protocolsOf(listener: ListenerConfig): readonly ListenerProtocol[] {
  return listener.protocols ?? (listener.tls ? ['h2', 'http/1.1'] : ['http/1.1']);
}

/**
 * Rules for `listeners` the schema cannot state; reads and checks each TLS listener's files (certificates.ts),
 * relative paths taken from the directory of the config file `env` names (base-dir.ts).
 */
export function checkListeners(config: Config, err: Report, env: NodeJS.ProcessEnv = process.env): void {
  if (config.admin?.tls) checkListenerTls(config.admin.tls as ListenerTls, '/admin/tls', err, env);
  if (config.admin?.tls?.client_certificates?.forward_details)
    err('/admin/tls/client_certificates/forward_details', 'the admin API sends no request upstream to carry it');
  const names = new Map<string, number>();
  const taken: { listen: string; path: string }[] = [
    { listen: config.proxy.listen, path: '/proxy/listen' },
    { listen: config.admin.listen, path: '/admin/listen' },
  ];
  config.listeners.forEach((listener, i) => {
    const at = `/listeners/${i}`;
    const first = names.get(listener.name);
    if (first !== undefined) err(`${at}/name`, `"${listener.name}" is already the name of listeners/${first}`);
    // proxy.listen's listener is in the metrics always, the admin listener once it has TLS.
    else if (listener.name === PROXY_LISTENER || (listener.name === ADMIN_LISTENER && config.admin?.tls))
      err(
        `${at}/name`,
        `"${listener.name}" is the name ${listener.name}.listen's listener goes by in metrics and logs`,
      );
    else names.set(listener.name, i);
    const { port } = splitListen(listener.listen);
    if (!(port >= 0 && port <= 65535)) err(`${at}/listen`, 'port must be 0-65535 (0 = any free port)');
    const other = taken.find((t) => clash(t.listen, listener.listen));
    if (other) err(`${at}/listen`, `${listener.listen} is the address of ${other.path.slice(1)} (${other.listen})`);
    taken.push({ listen: listener.listen, path: `${at}/listen` });
    const protocols = protocolsOf(listener);
    if (new Set(protocols).size < protocols.length) err(`${at}/protocols`, 'names a protocol twice');
    if (listener.tls) {
      if (protocols.includes('h2c'))
        err(`${at}/protocols`, 'h2c is cleartext HTTP/2; over TLS it is h2 (chosen by ALPN)');
      if (listener.redirect_https)
        err(`${at}/redirect_https`, "would send a TLS listener's clients to https, where they already are");
      checkListenerTls(listener.tls as ListenerTls, `${at}/tls`, err, env);
    } else {
      if (protocols.includes('h2'))
        err(`${at}/protocols`, 'h2 needs tls (clients choose it by ALPN); cleartext is h2c');
      if (listener.hsts) err(`${at}/hsts`, 'browsers ignore Strict-Transport-Security sent over plain HTTP; needs tls');
    }
    if (listener.hsts?.preload && !(listener.hsts.include_subdomains && listener.hsts.max_age_s >= 31536000))
      err(`${at}/hsts/preload`, 'the preload list takes only include_subdomains with a max_age_s of a year or more');
    if (listener.proxy_protocol?.accept && (config.trusted_proxies ?? []).length === 0)
      err(
        `${at}/proxy_protocol/accept`,
        'needs trusted_proxies: only a load balancer listed there may say who the client is',
      );
  });
}
