import cluster, { type Worker } from 'node:cluster';
import { Counter, Registry } from 'prom-client';
import { splitListen } from '../../shared/listen.ts';
import { ConfigManager, type DataPlanePort } from '../control/config-manager.ts';
import { fileHashOf } from '../control/file-hash.ts';
import type { UpstreamHealth } from '../control/types.ts';
import { DataPlane } from '../proxy/data-plane.ts';
import type { Logger } from '../log.ts';
import { createControlMetrics, createGatewayMetrics } from '../metrics.ts';
import { answerMetricsRequests, ClusterMetrics } from './cluster-metrics.ts';
import { createListenerMetrics } from '../proxy/listeners/metrics.ts';
import { ConfigReceiver, ConfigSender, Rollout, type ConfigWire } from '../control/config-wire.ts';
import { createEventSink, nodeName } from '../proxy/events/index.ts';
import type { EventSink } from '../proxy/events/sink.ts';
import { startIdentity } from '../control/apps/start.ts';
import { identityFromWire, type IdentityWire } from '../control/apps/identity.ts';
import { openStarting, startAdminFor, startAnalyticsFor, type LoadedFile, type RunningGateway } from './single.ts';
import { watchConfigSources } from '../control/config-watch.ts';
import { releaseMemory } from './memory.ts';
import { WorkerWatchdog } from './worker-watchdog.ts';
import { OPENMETRICS_CONTENT_TYPE, toOpenMetrics } from '../proxy/tracing/openmetrics.ts';

/** Messages between the primary (control plane) and proxy workers. */
type ToWorker = { tg: 'apply'; wire: ConfigWire } | { tg: 'identity'; identity: IdentityWire } | { tg: 'shutdown' };
/**
 * From a worker. `resend`: it got a change to a config it does not hold, and needs the whole one. `applied`: it
 * applied (or already held) the config numbered `seq`, which gives the next worker its turn in the roll-out.
 */
type ToPrimary =
  | { tg: 'listening' }
  | { tg: 'health'; health: UpstreamHealth[] }
  | { tg: 'resend' }
  | { tg: 'applied'; seq: number };

const HEALTH_PUSH_MS = 500;

/** Merges every worker's view: a target is healthy only if all workers find it so. */
function mergeHealth(views: UpstreamHealth[][]): UpstreamHealth[] {
  const out = new Map<string, Map<string, UpstreamHealth['targets'][number]>>();
  for (const view of views) {
    for (const up of view) {
      const targets = out.get(up.service) ?? new Map();
      out.set(up.service, targets);
      for (const t of up.targets) {
        const m = targets.get(t.id);
        targets.set(
          t.id,
          m
            ? { ...m, healthy: m.healthy && t.healthy, ejected: m.ejected || t.ejected, active: m.active + t.active }
            : { ...t },
        );
      }
    }
  }
  return [...out].map(([service, targets]) => ({ service, targets: [...targets.values()] }));
}

/**
 * workers > 1: the primary keeps the control plane (config, store, admin API,
 * metrics aggregation) and forks proxy workers that share the listening port.
 * Each worker runs its own health checks and passive ejection; the primary
 * pushes every applied config to all of them and re-forks a worker that dies.
 */
export async function startPrimary(loaded: LoadedFile, workers: number, log: Logger): Promise<RunningGateway> {
  // Let the kernel spread connections (SO_REUSEPORT-like) instead of the primary accepting and handing over each one.
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  const { store, storesHealth, dirs, version, config } = await openStarting(loaded, log);
  const sender = new ConfigSender();
  const rollout = new Rollout();
  sender.next(config, version.version);
  const health = new Map<number, UpstreamHealth[]>();
  // The admin listener's TLS is the primary's own, counted in the families the workers' listeners report.
  const adminListener = new Registry();
  const adminListenerMetrics = createListenerMetrics(adminListener);
  // Sums the workers' metrics and keeps the counters of workers that died, so cluster-wide counters never go down.
  const aggregator = new ClusterMetrics(5000, adminListener);
  // The primary's own metrics (config applies happen here); workers report the rest.
  const own = new Registry();
  const control = createControlMetrics(own, storesHealth);
  const restarts = new Counter({
    name: 'tollgate_worker_restarts_total',
    help:
      'Proxy workers started again after one ended, by reason (exited: ' +
      'it died; unresponsive: the watchdog killed it, worker_watchdog_ms).',
    labelNames: ['reason'] as const,
    registers: [own],
  });
  // Both series from the start, so the first restart is an increase the alert sees.
  for (const reason of ['exited', 'unresponsive']) restarts.inc({ reason }, 0);
  let stopping = false;
  /** Workers the watchdog killed: their exit is counted as unresponsive. */
  const unresponsive = new Set<number>();
  const watchdog = new WorkerWatchdog(
    () => sender.config.worker_watchdog_ms,
    (id, silentMs) => {
      const w = cluster.workers?.[id];
      if (!w || stopping) return;
      unresponsive.add(id);
      log.error(
        { worker: id, pid: w.process.pid, silent_ms: Math.round(silentMs) },
        'proxy worker unresponsive (its event loop is stuck): killing it; another starts',
      );
      w.process.kill('SIGKILL');
    },
  );

  const send = (w: Worker, msg: ToWorker) => {
    if (w.isConnected()) w.send(msg);
  };
  // Apps and keys go to every worker on each change; a new worker gets them before its first config.
  const identity = await startIdentity(
    config,
    (wire) => {
      for (const w of Object.values(cluster.workers ?? {})) if (w) send(w, { tg: 'identity', identity: wire });
    },
    () => sender.config.tokens,
    log,
    storesHealth.apps,
  );
  let started = false;
  // A replacement takes the index of the worker it replaces, so it reopens that worker's event log or spool.
  const fork = (index: number): Promise<void> =>
    new Promise((resolve, reject) => {
      // The serving log.level (the file's, an admin edit's or TOLLGATE_LOG_LEVEL's): the worker's logger starts at it,
      // and each apply carries it on.
      const w = cluster.fork({
        TOLLGATE_CLUSTER_WORKER: '1',
        TOLLGATE_WORKER_INDEX: String(index),
        TOLLGATE_LOG_LEVEL: sender.config.log.level,
      });
      let listening = false;
      w.on('message', (msg: ToPrimary) => {
        // Any message is a sign of life: the watchdog watches a worker from its 'listening' on.
        if (listening || msg?.tg === 'listening') watchdog.heard(w.id);
        if (msg?.tg === 'listening') {
          listening = true;
          resolve();
        } else if (msg?.tg === 'health') health.set(w.id, msg.health);
        else if (msg?.tg === 'resend') send(w, { tg: 'apply', wire: sender.whole() });
        else if (msg?.tg === 'applied') rollout.applied(w.id, msg.seq);
      });
      w.on('online', () => {
        send(w, { tg: 'identity', identity: identity.wire() });
        send(w, { tg: 'apply', wire: sender.whole() });
      });
      w.on('exit', (code, signal) => {
        health.delete(w.id);
        rollout.gone(w.id);
        watchdog.forget(w.id);
        if (stopping) return;
        // A worker that cannot even listen at start (port taken, bad address) would only crash again: fail the start.
        if (!started && !listening) {
          reject(new Error(`proxy worker exited (code ${code}, signal ${signal}) before listening; its log says why`));
          return;
        }
        const reason = unresponsive.delete(w.id) ? 'unresponsive' : 'exited';
        restarts.inc({ reason });
        if (reason === 'exited') log.error({ worker: w.id, code, signal }, 'proxy worker died; starting another');
        setTimeout(
          () => void fork(index).catch((err) => log.error({ err: err.message }, 'replacement worker failed')),
          500,
        ).unref();
      });
    });

  const port: DataPlanePort = {
    apply: (c, v) => {
      const wire = sender.next(c, v);
      const workers = () =>
        Object.values(cluster.workers ?? {})
          .filter((w): w is Worker => w !== undefined)
          .map((w) => ({
            id: w.id,
            send: (x: ConfigWire) => {
              send(w, { tg: 'apply', wire: x });
              return w.isConnected();
            },
          }));
      return rollout.send(wire, workers);
    },
    health: () => mergeHealth([...health.values()]),
    // The workers' route stats carry their newest exemplars: the merged ones go on the OpenMetrics buckets.
    metrics: async (openMetrics) => {
      const { text, routes } = await aggregator.scrape();
      const body = `${text}\n${await own.metrics()}`;
      return openMetrics
        ? { contentType: OPENMETRICS_CONTENT_TYPE, body: toOpenMetrics(body, routes) }
        : { contentType: aggregator.contentType, body };
    },
    onReload: (result) => control.reloads.inc({ result }),
    onConflict: (result) => control.conflicts.inc({ result }),
    onRestartPending: (settings) => control.restartPending.set(settings),
  };
  const manager = new ConfigManager({ file: loaded.file, store, port, log });
  manager.init(version, fileHashOf(loaded.raw), config);
  try {
    await Promise.all(Array.from({ length: workers }, (_, i) => fork(i)));
  } catch (err) {
    stopping = true;
    for (const w of Object.values(cluster.workers ?? {})) w?.kill();
    await identity.close();
    await store.close();
    await dirs.release();
    throw err;
  }
  started = true;
  const stopWatchdog = watchdog.start();
  const analytics = await startAnalyticsFor(config, own, log);
  const { admin, address } = await startAdminFor(
    config,
    manager,
    log,
    adminListenerMetrics,
    analytics?.registerRoutes,
    identity,
  );
  manager.setReady(true);
  const stopWatching = watchConfigSources(loaded.file, manager, config, log);
  log.info({ proxy: config.proxy.listen, admin: address, version: version.version, workers }, 'tollgate listening');
  return {
    proxy: splitListen(config.proxy.listen),
    // The workers listen; with port 0 each would take its own port, so the cluster shape names the configured ones.
    listeners: new Map([
      ['proxy', splitListen(config.proxy.listen)],
      ...config.listeners.map((l) => [l.name, splitListen(l.listen)] as const),
    ]),
    admin: address,
    manager,
    async close() {
      stopping = true;
      manager.setReady(false);
      stopWatching();
      stopWatchdog();
      const exits = Object.values(cluster.workers ?? {}).map(
        (w) =>
          w &&
          new Promise((r) => {
            w.once('exit', r);
            send(w, { tg: 'shutdown' });
          }),
      );
      await Promise.all(exits);
      await analytics?.close();
      await admin.close();
      await identity.close();
      await store.close();
      await dirs.release();
    },
  };
}

/** A proxy worker: waits for its first config, listens, then follows the primary. */
export function runWorker(log: Logger): void {
  const metrics = createGatewayMetrics();
  answerMetricsRequests(metrics.register, metrics.routeStats);
  let plane: DataPlane | undefined;
  let sink: EventSink | undefined;
  let identity: IdentityWire | undefined;
  const received = new ConfigReceiver();
  const push = () => {
    if (plane && process.connected) process.send?.({ tg: 'health', health: plane.health() } satisfies ToPrimary);
  };
  const timer = setInterval(push, HEALTH_PUSH_MS);
  timer.unref();
  // Messages are handled one at a time: an apply arriving while the first one still opens the sink waits for it.
  let queue: Promise<void> = Promise.resolve();
  process.on('message', (msg: ToWorker) => {
    queue = queue.then(() => handle(msg));
  });
  const handle = async (msg: ToWorker): Promise<void> => {
    if (msg?.tg === 'identity') {
      identity = msg.identity;
      plane?.setIdentity(identityFromWire(identity));
    } else if (msg?.tg === 'apply') {
      const config = received.take(msg.wire);
      const ack = () => {
        process.send?.({ tg: 'applied', seq: msg.wire.seq } satisfies ToPrimary);
      };
      if (config === 'held') return ack();
      if (config === 'resend') {
        process.send?.({ tg: 'resend' } satisfies ToPrimary);
        return;
      }
      // log.level applies at once here too: the worker's request and access loggers are children of this one.
      log.level = config.log.level;
      if (plane) {
        await plane.apply(config, msg.wire.version);
        return ack();
      }
      try {
        sink = await createEventSink(config, metrics.events, log, `w${process.env.TOLLGATE_WORKER_INDEX ?? '0'}`);
        plane = new DataPlane(config, msg.wire.version, metrics, log, { sink, node: nodeName(config) });
        if (identity) plane.setIdentity(identityFromWire(identity));
        await plane.listen();
      } catch (err) {
        log.fatal({ err: (err as Error).message }, 'proxy worker cannot listen');
        log.flush();
        process.exit(1);
      }
      process.send?.({ tg: 'listening' } satisfies ToPrimary);
      ack();
      // As in a single process: start-up grew the young generation to its largest size.
      releaseMemory();
      push();
    } else if (msg?.tg === 'shutdown') {
      clearInterval(timer);
      await plane?.close(plane.current.config.proxy.drain_timeout_ms);
      await sink?.close(5000);
      log.flush();
      process.exit(0);
    }
  };
  // A signal to the whole process group (kill -PGID, pkill -f tollgate) is the primary's to act on:
  // SIGTERM/SIGINT through its shutdown message, SIGHUP as a reload it sends on as an apply.
  // SIGHUP's default action would kill the worker with its requests in flight.
  process.on('SIGTERM', () => undefined);
  process.on('SIGINT', () => undefined);
  process.on('SIGHUP', () => undefined);
}

export const isClusterWorker = () => cluster.isWorker && process.env.TOLLGATE_CLUSTER_WORKER === '1';
