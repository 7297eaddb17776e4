import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { startEmbeddedAnalytics } from '../../collector/embedded/index.ts';
import { startAdmin } from '../control/admin/server.ts';
import type { Config } from '../control/config/schema.ts';
import { splitListen } from '../../shared/listen.ts';
import { ConfigManager, type DataPlanePort } from '../control/config-manager.ts';
import { OPENMETRICS_CONTENT_TYPE, toOpenMetrics } from '../proxy/tracing/openmetrics.ts';
import { fileHashOf, sha256 } from '../control/file-hash.ts';
import { initialVersion } from '../control/file-history.ts';
import { createStore } from '../control/store/index.ts';
import { watchConfigSources } from '../control/config-watch.ts';
import type { ConfigStore, RawConfig } from '../control/types.ts';
import { DataPlane } from '../proxy/data-plane.ts';
import { lockDataDirs } from './dir-lock.ts';
import { outageLog, type Logger, type StoreHealth } from '../log.ts';
import { createControlMetrics, createGatewayMetrics, type ControlMetrics, type GatewayMetrics } from '../metrics.ts';
import { validateConfig } from '../control/config/load.ts';
import { createEventSink, nodeName } from '../proxy/events/index.ts';
import { startIdentity } from '../control/apps/start.ts';
import { identityFromWire } from '../control/apps/identity.ts';
import type { IdentityManager } from '../control/apps/manager.ts';
import type { ListenerTls } from '../proxy/listeners/certificates.ts';
import type { ListenerMetrics } from '../proxy/listeners/metrics.ts';

export interface LoadedFile {
  file: string;
  raw: RawConfig;
  text: string;
  config: Config;
}

export interface RunningGateway {
  proxy: { host: string; port: number };
  /** Every proxy listener's address by name (`proxy` is proxy.listen's). */
  listeners: Map<string, { host: string; port: number }>;
  admin: { host: string; port: number };
  manager: ConfigManager;
  close(): Promise<void>;
}

/** The shared stores' health, for tollgate_store_up: the config store's and the app store's, when they are in Redis. */
export interface StoresHealth {
  config?: StoreHealth;
  apps?: StoreHealth;
}

function openStore(config: Config, health: StoresHealth, log: Logger): Promise<ConfigStore> {
  const s = config.store;
  if (s.kind !== 'redis') return createStore({ kind: 'file', dir: s.dir, historyLimit: s.history_limit });
  health.config = outageLog(log, 'config store (redis)');
  health.apps = outageLog(log, 'app store (redis)');
  return createStore({
    kind: 'redis',
    url: s.redis_url,
    prefix: s.prefix,
    historyLimit: s.history_limit,
    ...health.config,
  });
}

/**
 * The data directories locked (lockDataDirs), the config store, and the
 * version to start from in it (startingConfig); the store is closed and the
 * directories released when that fails.
 */
export async function openStarting(loaded: LoadedFile, log: Logger) {
  const dirs = await lockDataDirs(loaded.config, (msg) => log.warn(msg));
  const storesHealth: StoresHealth = {};
  let store: ConfigStore;
  try {
    store = await openStore(loaded.config, storesHealth, log);
  } catch (err) {
    await dirs.release();
    throw err;
  }
  try {
    const starting = await startingConfig(loaded, store, log);
    // A node joining a cluster runs with the cluster's settings, whose events.dir may not be its file's: that one
    // is locked, or two gateways on one host could write one event log, and its file's, unused, is let go.
    await dirs.runWith(starting.config);
    return { store, storesHealth, dirs, ...starting };
  } catch (err) {
    // A Redis store that cannot be reached would otherwise keep reconnecting, and the process alive.
    await store.close();
    await dirs.release();
    throw err;
  }
}

/** The version to start from, validated (the store's head may have been written by an older release). */
export async function startingConfig(loaded: LoadedFile, store: ConfigStore, log: Logger) {
  const { version, reused } = await initialVersion(loaded, store, loaded.config.store.kind === 'redis');
  // Something other than the file serves: admin edits made on top of it, or (Redis) the cluster's config, which a
  // joining node adopts.
  // (Versions stored by earlier releases hashed the file's bytes.)
  const fromFile =
    (version.source === 'file' || version.source === 'reload') &&
    (version.fileHash === fileHashOf(loaded.raw) || version.fileHash === sha256(loaded.text));
  if (reused && !fromFile) {
    log.info(
      { version: version.version, source: version.source, note: version.note, created_at: version.createdAt },
      `starting on the stored config version ${version.version} (${version.source}), not the config file as it is`,
    );
  }
  const v = validateConfig(version.config);
  // E.g. an upstream's TLS file went missing between the checks: say which.
  if (!v.ok)
    throw new Error(
      `stored config version ${version.version} is invalid: ${v.errors
        .slice(0, 5)
        .map((e) => `${e.path}: ${e.message}`)
        .join('; ')}`,
    );
  return { version, config: v.config };
}

export async function startAdminFor(
  config: Config,
  manager: ConfigManager,
  log: Logger,
  listenerMetrics: ListenerMetrics,
  extraRoutes?: (app: FastifyInstance) => void,
  identity?: IdentityManager,
) {
  const { host, port } = splitListen(config.admin.listen);
  const admin = await startAdmin({
    host,
    port,
    token: config.admin.token,
    maxBodyBytes: config.admin.max_body_bytes,
    control: manager,
    logger: log.child({ component: 'admin' }),
    extraRoutes,
    identity,
    tls: config.admin.tls && { config: config.admin.tls as ListenerTls, metrics: listenerMetrics },
  });
  manager.onServe((served) => {
    admin.updateTls(served.admin.tls as ListenerTls | undefined);
    admin.updateToken(served.admin.token);
  });
  return { admin, address: { host, port: admin.port } };
}

export function localPort(plane: () => DataPlane, metrics: GatewayMetrics, control: ControlMetrics): DataPlanePort {
  return {
    apply: (c, v) => plane().apply(c, v),
    health: () => plane().health(),
    metrics: async (openMetrics) =>
      openMetrics
        ? {
            contentType: OPENMETRICS_CONTENT_TYPE,
            body: toOpenMetrics(await metrics.register.metrics(), metrics.routeStats),
          }
        : { contentType: metrics.register.contentType, body: await metrics.register.metrics() },
    onReload: (result) => control.reloads.inc({ result }),
    onConflict: (result) => control.conflicts.inc({ result }),
    onRestartPending: (settings) => control.restartPending.set(settings),
  };
}

/**
 * Single node: the collector, on a worker thread of this process, reads the
 * embedded event log(s) and answers the reports API on the admin listener.
 * One reader per log: in cluster mode only the primary runs it.
 */
export async function startAnalyticsFor(
  config: Config,
  register: Registry,
  log: Logger,
): Promise<Analytics | undefined> {
  if (config.events.sink === 'embedded') {
    return startEmbeddedAnalytics({
      eventsDir: config.events.dir,
      register,
      logger: log.child({ component: 'collector' }),
    });
  }
  if (config.reports.clickhouse_url) return startClusterReports(config);
  return undefined;
}

/** What the admin listener needs from the analytics side: routes to mount and something to close. */
export interface Analytics {
  registerRoutes(app: FastifyInstance): void;
  close(): Promise<void>;
}

/** Cluster mode: reports from the collector's ClickHouse tables, live stats from its Redis counters. */
async function startClusterReports(config: Config): Promise<Analytics> {
  const r = config.reports;
  const [{ Redis }, { createClickHouseClient }, { ClickHouseReportSource }, { registerReportRoutes }] =
    await Promise.all([
      import('ioredis'),
      import('../../collector/clickhouse/http-client.ts'),
      import('../../collector/cluster/report-source.ts'),
      import('../../collector/reports/routes.ts'),
    ]);
  // Without a Redis URL the connection points nowhere and live stats answer degraded at once.
  const redis = new Redis(r.redis_url || 'redis://127.0.0.1:1', {
    lazyConnect: !r.redis_url,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 500,
  });
  redis.on('error', () => undefined);
  const source = new ClickHouseReportSource({
    clickhouse: createClickHouseClient({ url: r.clickhouse_url, database: r.clickhouse_database, timeoutMs: 10_000 }),
    redis,
    livePrefix: r.redis_prefix,
  });
  return {
    registerRoutes: (app) => registerReportRoutes(app, source, {}),
    close: async () => {
      redis.disconnect();
    },
  };
}

/** Everything in one process (workers: 1): data plane, control plane, admin API, collector. */
export async function startSingle(loaded: LoadedFile, log: Logger): Promise<RunningGateway> {
  const { store, storesHealth, dirs, version, config } = await openStarting(loaded, log);
  const metrics = createGatewayMetrics();
  const sink = await createEventSink(config, metrics.events, log);
  const plane = new DataPlane(config, version.version, metrics, log, { sink, node: nodeName(config) });
  const manager = new ConfigManager({
    file: loaded.file,
    store,
    port: localPort(() => plane, metrics, createControlMetrics(metrics.register, storesHealth)),
    log,
  });
  manager.init(version, fileHashOf(loaded.raw), config);
  let proxy: { host: string; port: number };
  let started: Awaited<ReturnType<typeof startAdminFor>>;
  let analytics: Analytics | undefined;
  let identity: IdentityManager | undefined;
  try {
    identity = await startIdentity(
      config,
      (wire) => plane.setIdentity(identityFromWire(wire)),
      () => plane.current.config.tokens,
      log,
      storesHealth.apps,
    );
    analytics = await startAnalyticsFor(config, metrics.register, log);
    proxy = await plane.listen();
    started = await startAdminFor(config, manager, log, metrics.listeners, analytics?.registerRoutes, identity);
  } catch (err) {
    // Nothing may keep the process alive after a failed start.
    await plane.close(0);
    await sink?.close(1000);
    await analytics?.close();
    await identity?.close();
    await store.close();
    await dirs.release();
    throw err;
  }
  const { admin, address } = started;
  manager.setReady(true);
  const stopWatching = watchConfigSources(loaded.file, manager, config, log);
  log.info({ proxy, admin: address, version: version.version, workers: 1 }, 'tollgate listening');
  return {
    proxy,
    listeners: plane.addresses,
    admin: address,
    manager,
    async close() {
      manager.setReady(false);
      stopWatching();
      await plane.close(config.proxy.drain_timeout_ms);
      // After the drain, so the last requests' events are kept too.
      await sink?.close(5000);
      await analytics?.close();
      await admin.close();
      await identity?.close();
      await store.close();
      await dirs.release();
    },
  };
}
