import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, Registry } from 'prom-client';
import { ROUTE_FAMILIES, RouteStatsRegistry, type RoutesWire } from '../proxy/route-stats.ts';

/** The protocol of prom-client's AggregatorRegistry; workers answer with answerMetricsRequests, which adds `routes`. */
const GET_METRICS_REQ = 'prom-client:getMetricsReq';
const GET_METRICS_RES = 'prom-client:getMetricsRes';

/** One metric as `registry.getMetricsAsJSON()` gives it, which is what workers send (but for the per-route families).
 * */
interface Sample {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}
interface Metric {
  name: string;
  help: string;
  type: string;
  aggregator?: string;
  values: Sample[];
}
type MetricsJson = Metric[];

interface Scrape {
  waiting: Set<number>;
  timer: NodeJS.Timeout;
  finish: () => void;
}

/** Counters and histograms only: their values only grow, so a dead worker's last ones still hold. Gauges (and other
 * aggregators) go with the worker. */
export function isMonotonic(m: Metric): boolean {
  return (m.type === 'counter' || m.type === 'histogram') && (m.aggregator ?? 'sum') === 'sum';
}

/**
 * Every worker's metrics, summed, for the primary's /metrics (what prom-client's
 * AggregatorRegistry.clusterMetrics does), plus the last counters and
 * histograms of workers that have exited. Without those a cluster-wide
 * counter went down when a worker died (4 → 3), which Prometheus takes for
 * a counter reset. A worker's values are as of the last scrape it answered,
 * so what a scrape has shown never goes back; what it counted after that
 * scrape and before dying is lost, as it would be to a scrape of that worker
 * alone.
 */
export class ClusterMetrics {
  readonly contentType = Registry.PROMETHEUS_CONTENT_TYPE;
  readonly #timeoutMs: number;
  #nextId = 0;
  readonly #scrapes = new Map<number, Scrape>();
  /** Each live worker's metrics as of its last answer. */
  readonly #last = new Map<number, { json: MetricsJson; routes?: RoutesWire }>();
  /** Monotonic metrics of exited workers, summed: name → series key → sample. */
  readonly #retired = new Map<string, { meta: Omit<Metric, 'values'>; values: Map<string, Sample> }>();
  /** Per-route requests and latency of exited workers, summed. */
  readonly #retiredRoutes = new RouteStatsRegistry();

  /** The primary's metrics of the families workers report too (the admin listener's TLS), summed with theirs. */
  readonly #primary: Registry | undefined;

  constructor(timeoutMs = 5000, primary?: Registry) {
    this.#timeoutMs = timeoutMs;
    this.#primary = primary;
    cluster.on(
      'message',
      (
        worker: Worker,
        msg: { type?: string; requestId?: number; metrics?: MetricsJson[]; routes?: RoutesWire; error?: string },
      ) => {
        if (msg?.type !== GET_METRICS_RES || msg.requestId === undefined) return;
        if (msg.metrics !== undefined && msg.error === undefined)
          this.#last.set(worker.id, { json: msg.metrics.flat(), routes: msg.routes });
        this.#answered(msg.requestId, worker.id);
      },
    );
    cluster.on('exit', (worker: Worker) => {
      const last = this.#last.get(worker.id);
      this.#last.delete(worker.id);
      if (last !== undefined) this.retire(last.json, last.routes);
      for (const id of [...this.#scrapes.keys()]) this.#answered(id, worker.id);
    });
  }

  /** Aggregated exposition text; a worker that does not answer within the timeout is counted with its last values. */
  async metrics(): Promise<string> {
    return (await this.scrape()).text;
  }

  /** As metrics(), with the per-route stats summed, which hold the workers' newest exemplars (for OpenMetrics). */
  scrape(): Promise<{ text: string; routes: RouteStatsRegistry }> {
    const id = this.#nextId++;
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w?.isConnected() === true);
    return new Promise((resolve, reject) => {
      const finish = () => {
        clearTimeout(scrape.timer);
        this.#scrapes.delete(id);
        const routes = new RouteStatsRegistry();
        routes.addWire(this.#retiredRoutes.wire());
        for (const last of this.#last.values()) if (last.routes !== undefined) routes.addWire(last.routes);
        const workers = [...[...this.#last.values()].map((l) => l.json), this.#retiredJson()];
        const primary = this.#primary?.getMetricsAsJSON() ?? Promise.resolve([]);
        const others = primary.then((p) => AggregatorRegistry.aggregate([...workers, p] as never).metrics());
        Promise.all([routes.text(), others]).then(([r, o]) => resolve({ text: `${r}\n\n${o}`, routes }), reject);
      };
      const scrape: Scrape = {
        waiting: new Set(workers.map((w) => w.id)),
        timer: setTimeout(finish, this.#timeoutMs),
        finish,
      };
      this.#scrapes.set(id, scrape);
      for (const w of workers) w.send({ type: GET_METRICS_REQ, requestId: id });
      if (scrape.waiting.size === 0) finish();
    });
  }

  /** Adds an exited worker's counters and histograms to what the cluster keeps. Synchronous, so no scrape sees the
   * worker gone and its values not yet kept. */
  retire(metrics: MetricsJson, routes?: RoutesWire): void {
    if (routes !== undefined) this.#retiredRoutes.addWire(routes);
    for (const m of metrics) {
      if (!isMonotonic(m)) continue;
      let kept = this.#retired.get(m.name);
      if (kept === undefined) {
        kept = { meta: { name: m.name, help: m.help, type: m.type, aggregator: m.aggregator }, values: new Map() };
        this.#retired.set(m.name, kept);
      }
      for (const v of m.values) {
        const labels = Object.entries(v.labels).sort(([a], [b]) => (a < b ? -1 : 1));
        const key = `${v.metricName ?? ''}\u0000${JSON.stringify(labels)}`;
        const sample = kept.values.get(key);
        if (sample === undefined) kept.values.set(key, { ...v, labels: { ...v.labels } });
        else sample.value += v.value;
      }
    }
  }

  #retiredJson(): MetricsJson {
    return [...this.#retired.values()].map(({ meta, values }) => ({ ...meta, values: [...values.values()] }));
  }

  #answered(id: number, workerId: number): void {
    const scrape = this.#scrapes.get(id);
    if (scrape === undefined || !scrape.waiting.delete(workerId)) return;
    if (scrape.waiting.size === 0) scrape.finish();
  }
}

/**
 * In a worker: answers ClusterMetrics' requests as prom-client's
 * AggregatorRegistry would (the registry as JSON), but for the per-route
 * families, which go as one RoutesWire: for 10,000 routes prom-client's JSON
 * of them held ~195,000 sample objects, each with its labels, made in the
 * worker, sent and parsed by the primary, and summed there by prom-client.
 */
export function answerMetricsRequests(register: Registry, routes: RouteStatsRegistry): void {
  const skip = new Set(ROUTE_FAMILIES);
  process.on('message', (msg: { type?: string; requestId?: number }) => {
    if (msg?.type !== GET_METRICS_REQ) return;
    const others = register.getMetricsAsArray().filter((m) => !skip.has(m.name)) as unknown as {
      get(): Promise<Metric>;
    }[];
    const json = Promise.all(others.map((m) => m.get()));
    json.then(
      (metrics) =>
        process.send?.({ type: GET_METRICS_RES, requestId: msg.requestId, metrics: [metrics], routes: routes.wire() }),
      (err: Error) => process.send?.({ type: GET_METRICS_RES, requestId: msg.requestId, error: err.message }),
    );
  });
}
