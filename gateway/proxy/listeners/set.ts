import { type CidrMatcher, trustedProxies } from '../net/cidr.ts';
import { listenAtStart, movesKeepingOld, type StartOptions, startListening, stopStarted } from '../net/listen-retry.ts';
import type { Config } from '../../control/config/schema.ts';
import { sameData } from '../../control/config/same-data.ts';
import type { Logger } from '../../log.ts';
import type { GatewayMetrics } from '../../metrics.ts';
import type { ListenerTls } from './certificates.ts';
import {
  applySettings,
  type BuildContext,
  buildListener,
  type ProxyListenerHooks,
  type ResponseClasses,
  type Running,
} from './build.ts';
import { PROXY_LISTENER } from './names.ts';
import type { ListenerConfig } from './schema.ts';
import { HTTP2_DEFAULTS } from './http2-defaults.ts';
import { clientChecksOf, endAfterAnswers, markChecksChanged, reconnectHttp1 } from './checks-changed.ts';
import { limitsConnections } from './limits.ts';
import { givenToAnother, protocolsOf } from './semantics.ts';

export { PROXY_LISTENER };

export type { ProxyListenerHooks, ProxyRequest, ProxyResponse, ResponseClasses } from './build.ts';

/** `proxy.listen` as a listener: plain HTTP/1.1. */
const proxyListenerOf = (config: Config): ListenerConfig => ({
  name: PROXY_LISTENER,
  listen: config.proxy.listen,
  protocols: ['http/1.1'],
  http2: HTTP2_DEFAULTS,
});

/**
 * Every proxy listener: `proxy.listen` (plain HTTP/1.1) and each of
 * `listeners` (build.ts). Each applied config (`update`) starts the listeners
 * it adds, retires those it removes, moves those given another address and
 * replaces those given other protocols or another PROXY protocol setting; TLS
 * certificates and settings follow it, for new connections.
 */
export class ProxyListeners {
  readonly #running: Running[] = [];
  /** Listeners a reload removed or replaced, until their last connection ends. */
  readonly #retiring = new Set<Running>();
  readonly #context: BuildContext;
  readonly #starting: StartOptions<Running>;
  /** Each listening listener's address by name (the data plane's, shared with the streams). */
  readonly #addresses: Map<string, { host: string; port: number }>;
  #stopped = false;
  /** Who may send a PROXY header to a listener that accepts one (`trusted_proxies`, as of the last config). */
  #trusted: CidrMatcher;
  readonly #log: Logger;

  constructor(
    config: Config,
    classes: ResponseClasses,
    hooks: ProxyListenerHooks,
    metrics: GatewayMetrics,
    log: Logger,
    addresses: Map<string, { host: string; port: number }>,
  ) {
    this.#context = { classes, hooks, metrics, log, trusted: () => this.#trusted };
    this.#addresses = addresses;
    this.#starting = {
      kind: 'listener',
      addresses,
      waiting: metrics.listeners.listenWaiting,
      log,
      retire: (before) => this.#retire(before),
    };
    this.#trusted = trustedProxies(config.trusted_proxies ?? []);
    this.#log = log;
    for (const listener of [proxyListenerOf(config), ...config.listeners])
      this.#running.push(buildListener(listener, config, this.#context));
  }

  /** Starts every listener; resolves with each one's address by name once all listen. */
  async listen(): Promise<Map<string, { host: string; port: number }>> {
    for (const r of this.#running) await listenAtStart(r, r.door.server, this.#starting);
    return this.#addresses;
  }

  /**
   * A new config: listeners added start; those removed stop accepting, and their connections end once they have
   * answered what they are answering. One moved to another address serves at the old one until it listens at the
   * new one, so an address another process holds costs nothing. One whose connections are taken another way on
   * the same address (TLS given or taken away, other protocols, PROXY headers or per-client limits turned on or
   * off) is replaced: new servers take over its door (#replace), and the old ones end as a removed one's do (a
   * listener not yet listening stops and starts afresh). The others take the new limits and timeouts
   * (applySettings), and each TLS listener its new certificates and settings. `proxy.listen` changes on restart
   * (config/restart-only.ts). Resolves once each listener it starts has tried its address once.
   */
  update(config: Config): Promise<void> {
    const tries: Promise<void>[] = [];
    this.#trusted = trustedProxies(config.trusted_proxies ?? []);
    const wanted = new Map(config.listeners.map((l) => [l.name, l]));
    for (const r of [...this.#running]) {
      if (r.config.name === PROXY_LISTENER) {
        // proxy.listen changes on restart: the listener keeps the address it listens at.
        applySettings(r, { ...proxyListenerOf(config), listen: r.config.listen }, config.proxy, this.#log);
        continue;
      }
      const next = wanted.get(r.config.name);
      const givenAway = (listen: string) => givenToAnother(config, 'listener', r.config.name, listen);
      const moved = movesKeepingOld(r, next?.listen, givenAway, this.#starting);
      // How its connections are taken is fixed when its servers are built: a change there needs new ones.
      const same =
        next !== undefined &&
        next.listen === r.config.listen &&
        (next.tls === undefined) === (r.config.tls === undefined) &&
        sameData(protocolsOf(next), protocolsOf(r.config)) &&
        sameData(next.proxy_protocol, r.config.proxy_protocol) &&
        limitsConnections(next) === limitsConnections(r.config);
      if (!same) {
        this.#running.splice(this.#running.indexOf(r), 1);
        if (moved && next) {
          wanted.delete(next.name);
          tries.push(this.#add(next, config, r));
        } else if (next?.listen === r.config.listen && r.address !== undefined && !this.#stopped) {
          wanted.delete(next.name);
          this.#replace(r, next, config);
        } else this.#retire(r);
        this.#log.info(
          { listener: r.config.name, from: r.config.listen, ...(next ? { to: next.listen } : {}) },
          next === undefined
            ? 'listener removed: no new connections; open ones end once they have answered'
            : moved
              ? 'listener moved: its old address serves until the new one listens'
              : next.listen !== r.config.listen
                ? 'listener moved: its old address stops now, as another takes it or it was still moving'
                : 'listener replaced: open connections end once they have answered',
        );
        continue;
      }
      wanted.delete(r.config.name);
      if (r.tls && next.tls && !sameData(next.tls, r.config.tls)) {
        r.tls.update(next.tls as ListenerTls);
        if (clientChecksOf(next.tls) !== clientChecksOf(r.config.tls)) this.#reconnect(r);
      }
      applySettings(r, next, config.proxy, this.#log);
    }
    for (const listener of wanted.values()) tries.push(this.#add(listener, config));
    return Promise.all(tries).then(() => undefined);
  }

  /**
   * Starts a listener a reload added, changed or moved (from `predecessor`, which it retires once it listens). An
   * address another process holds is tried again (listenUntilFree).
   */
  #add(listener: ListenerConfig, config: Config, predecessor?: Running): Promise<void> {
    if (this.#stopped) {
      // Shutting down: nothing new listens.
      if (predecessor) this.#retire(predecessor);
      return Promise.resolve();
    }
    const r = buildListener(listener, config, this.#context);
    r.predecessor = predecessor;
    this.#running.push(r);
    return startListening(r, r.door.server, this.#starting);
  }

  /**
   * Replaces a listening listener's servers with new ones on the same address: they take over its door, so the
   * address goes on accepting, and the old servers retire.
   */
  #replace(r: Running, listener: ListenerConfig, config: Config): void {
    const heir = buildListener(listener, config, this.#context, r.door);
    heir.address = r.address;
    this.#running.push(heir);
    this.#retire(r);
    this.#addresses.set(listener.name, heir.address!);
  }

  /**
   * Stops accepting on a listener a reload removed or replaced (and on the one it was moved from, if that still
   * serves). Its connections end once they have answered what they are answering, as in a drain: idle HTTP/1.1
   * ones now, busy ones after their response, HTTP/2 ones by GOAWAY (streams under way finish). A WebSocket already
   * open carries on, as a removed stream's connections do.
   */
  #retire(r: Running): void {
    const name = r.config.name;
    stopStarted(
      r,
      this.#starting,
      this.#running.some((other) => other.config.name === name),
    );
    r.tls?.close();
    this.#retiring.add(r);
    if (r.door.leadsTo(r)) r.door.server.close();
    void r.accepted.drained().then(() => this.#retiring.delete(r));
    endAfterAnswers(r.http1, r.h1Sockets);
    for (const session of r.sessions) session.close();
  }

  /**
   * The listener's client-certificate checks changed (a CA, a CRL: a revoked certificate): its open connections were
   * let in under the old ones, so each is asked to end once it has answered what it is answering, and the client
   * comes back in a full handshake under the new ones (its ticket no longer resumes: sessionIdContext). HTTP/2
   * connections get GOAWAY; HTTP/1.1 ones close now if idle, else after their response, as nginx's and Envoy's do
   * when a reload drains them.
   */
  #reconnect(r: Running): void {
    const h1 = r.h1Sockets.size;
    reconnectHttp1(r.http1, r.h1Sockets);
    for (const session of r.sessions) {
      markChecksChanged(session);
      session.close();
    }
    this.#log.info(
      { listener: r.config.name, http1: h1, http2: r.sessions.size },
      'client certificate checks changed: open connections reconnect under the new ones',
    );
  }

  /** Every listener with a server open or connections left: those configured, those moved from, those retiring. */
  #all(): Running[] {
    const predecessors = this.#running.flatMap((r) => (r.predecessor ? [r.predecessor] : []));
    return [...this.#running, ...predecessors, ...this.#retiring];
  }

  async connections(): Promise<number> {
    return this.#all().reduce((n, r) => n + r.accepted.count, 0);
  }

  /** Stops accepting, closes idle HTTP/1.1 connections and asks HTTP/2 clients to go away (GOAWAY). */
  stopAccepting(): Promise<void> {
    this.#stopped = true;
    const retiring = [...this.#retiring];
    const serving = this.#all().filter((r) => !this.#retiring.has(r));
    for (const r of serving) {
      r.stopListening?.();
      r.tls?.close();
    }
    for (const r of serving) r.door.server.close();
    const closed = [...serving, ...retiring].map((r) => r.accepted.drained());
    for (const r of serving) {
      r.http1?.closeIdleConnections();
      for (const session of r.sessions) session.close();
    }
    return Promise.all(closed).then(() => undefined);
  }

  /** Cuts what the drain left open. */
  closeAll(): void {
    for (const r of this.#all()) {
      r.http1?.closeAllConnections();
      for (const session of r.sessions) session.destroy();
      for (const socket of r.h2Sockets) socket.destroy();
    }
  }
}
