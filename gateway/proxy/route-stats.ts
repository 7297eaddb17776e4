import { LATENCY_BUCKETS_S } from '../../shared/latency-buckets.ts';

/** Histogram slots per status class: one per bucket, then +Inf. */
const SLOTS = LATENCY_BUCKETS_S.length + 1;
/** Where RouteStats.n holds the summed seconds, and the bucket counts. */
const SUM = 5;
const BUCKET = 10;

/**
 * Per-route request counters kept as plain numbers on the request path and
 * turned into Prometheus samples only at scrape time. prom-client's labelled
 * children hash their labels on every inc/observe, which is measurable at
 * proxy rates; these cost an array index and an add.
 */
export class RouteStats {
  readonly service: string;
  readonly route: string;
  /**
   * All of the route's numbers in one array (three arrays cost ~440 bytes more a route; 4.4 MB for 10,000):
   * from 0, requests per status class, index k = class - 1 (1xx..5xx), also each class's histogram count;
   * from SUM, summed seconds per class; from BUCKET, non-cumulative counts per class and bucket, class k's
   * SLOTS slots from BUCKET + k * SLOTS, the last of them +Inf.
   */
  readonly n = new Float64Array(BUCKET + 5 * SLOTS);

  /** Per status class, `service="…",route="…",status_class="…"`: made at the first scrape that writes text. */
  private labelText: string[] | undefined = undefined;

  constructor(service: string, route: string) {
    this.service = service;
    this.route = route;
  }

  labels(k: number): string {
    this.labelText ??= CLASSES.map(
      (c) => `service="${escapeLabel(this.service)}",route="${escapeLabel(this.route)}",status_class="${c}"`,
    );
    return this.labelText[k];
  }

  /** Counts a request; one whose trace is recorded (`traceId`) becomes its bucket's exemplar too. */
  record(status: number, seconds: number, traceId = ''): void {
    const c = (status / 100) | 0;
    const k = c >= 1 && c <= 5 ? c - 1 : 4;
    this.n[k]++;
    let i = 0;
    while (i < LATENCY_BUCKETS_S.length && seconds > LATENCY_BUCKETS_S[i]) i++;
    this.n[BUCKET + k * SLOTS + i]++;
    this.n[SUM + k] += seconds;
    if (traceId === '') return;
    this.exemplars ??= new Array<Exemplar | undefined>(5 * SLOTS);
    this.exemplars[k * SLOTS + i] = { traceId, seconds, atMs: Date.now() };
  }

  /**
   * The newest traced request per status class and bucket (record's `traceId`), shown with its bucket in OpenMetrics
   * (exemplars: a latency spike leads to a trace). Made on the first one: a route never traced keeps none.
   */
  exemplars: Array<Exemplar | undefined> | undefined = undefined;

  /** The exemplar of status class `statusClass` (`2xx`) and the bucket `le` (`0.005`, `+Inf`), if any. */
  exemplarAt(statusClass: string, le: string): Exemplar | undefined {
    if (this.exemplars === undefined) return undefined;
    const k = CLASSES.indexOf(statusClass);
    const i = le === '+Inf' ? LATENCY_BUCKETS_S.length : LATENCY_BUCKETS_S.indexOf(Number(le));
    return k < 0 || i < 0 ? undefined : this.exemplars[k * SLOTS + i];
  }
}

/** A request that fell in a bucket: its trace, its latency, when (OpenMetrics exemplar). */
export interface Exemplar {
  traceId: string;
  seconds: number;
  atMs: number;
}

const CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'];

/** As prom-client escapes a label value. */
const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
/** As prom-client writes a value (getValueAsString). */
const num = (v: number) => (Number.isNaN(v) ? 'Nan' : Number.isFinite(v) ? `${v}` : v < 0 ? '-Inf' : '+Inf');
/** Routes written between two turns of the event loop. */
const ROUTES_PER_SLICE = 250;

/**
 * A family's exposition text as prom-client's Registry writes it (HELP,
 * TYPE, then one line per sample), written by `lines` route by route, the
 * event loop let run every ROUTES_PER_SLICE routes. Through prom-client, 10,000
 * routes (195,000 lines) held the loop for 0.6-0.7 s at every scrape.
 */
async function familyText(
  name: string,
  help: string,
  type: string,
  stats: RouteStats[],
  lines: (s: RouteStats, out: string[]) => void,
): Promise<string> {
  const out = [`# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${name} ${type}`];
  for (let i = 0; i < stats.length; i++) {
    if (i > 0 && i % ROUTES_PER_SLICE === 0) await new Promise<void>((r) => setImmediate(r));
    lines(stats[i], out);
  }
  return out.join('\n');
}
/** By status class, so fast errors and slow successes are told apart; five classes at most per route. */
const DURATION_HELP = 'Time from request received to response finished, by service, route and status class.';
const REQUESTS_HELP = 'Requests answered, by service, route and status class.';
type Sample = { labels: Record<string, string | number>; value: number; metricName?: string };

/** The two families RouteStatsRegistry writes. */
export const ROUTE_FAMILIES: readonly string[] = ['tollgate_requests_total', 'tollgate_request_duration_seconds'];

/**
 * The routes that answered any request, as a worker sends them to the
 * primary (cluster-metrics.ts): `names` as [service, route, …], and per
 * route in `data` a mask of its status classes, then per class its count,
 * its summed seconds and its SLOTS non-cumulative bucket counts. 19 numbers
 * for a route that answered one class, where prom-client's JSON held 19
 * sample objects, each with its labels.
 */
export interface RoutesWire {
  names: string[];
  data: number[];
  /** Exemplars as [service, route, class × SLOTS + bucket, trace id, seconds, epoch ms]: the newest wins a merge. */
  exemplars?: Array<[string, string, number, string, number, number]>;
}

/** Every RouteStats ever made in this process, so counters survive reloads (bounded by distinct route names). */
export class RouteStatsRegistry {
  private readonly all = new Map<string, RouteStats>();

  /** What this process counted, for the primary to sum. */
  wire(): RoutesWire {
    const names: string[] = [];
    const data: number[] = [];
    for (const s of this.all.values()) {
      let mask = 0;
      for (let k = 0; k < 5; k++) if (s.n[k] > 0) mask |= 1 << k;
      if (mask === 0) continue;
      names.push(s.service, s.route);
      data.push(mask);
      for (let k = 0; k < 5; k++) {
        if ((mask & (1 << k)) === 0) continue;
        data.push(s.n[k], s.n[SUM + k]);
        for (let i = 0; i < SLOTS; i++) data.push(s.n[BUCKET + k * SLOTS + i]);
      }
    }
    const exemplars: NonNullable<RoutesWire['exemplars']> = [];
    for (const s of this.all.values()) {
      s.exemplars?.forEach((e, slot) => {
        if (e !== undefined) exemplars.push([s.service, s.route, slot, e.traceId, e.seconds, e.atMs]);
      });
    }
    return exemplars.length === 0 ? { names, data } : { names, data, exemplars };
  }

  /** Adds another process's counts (wire()) to these. */
  addWire(w: RoutesWire): void {
    let p = 0;
    for (let r = 0; r < w.names.length; r += 2) {
      const s = this.get(w.names[r]!, w.names[r + 1]!);
      const mask = w.data[p++]!;
      for (let k = 0; k < 5; k++) {
        if ((mask & (1 << k)) === 0) continue;
        s.n[k] += w.data[p++]!;
        s.n[SUM + k] += w.data[p++]!;
        for (let i = 0; i < SLOTS; i++) s.n[BUCKET + k * SLOTS + i] += w.data[p++]!;
      }
    }
    for (const [service, route, slot, traceId, seconds, atMs] of w.exemplars ?? []) {
      const s = this.get(service, route);
      s.exemplars ??= new Array<Exemplar | undefined>(5 * SLOTS);
      if ((s.exemplars[slot]?.atMs ?? -1) < atMs) s.exemplars[slot] = { traceId, seconds, atMs };
    }
  }

  /** Both families' exposition text, as a Registry holding only them writes it (without its final newline). */
  async text(): Promise<string> {
    return (await Promise.all(this.metrics().map((m) => m.text()))).join('\n\n');
  }

  /** A route's stats if it ever answered, without making them. */
  find(service: string, route: string): RouteStats | undefined {
    return this.all.get(`${service}\0${route}`);
  }

  get(service: string, route: string): RouteStats {
    const key = `${service}\0${route}`;
    let s = this.all.get(key);
    if (!s) {
      s = new RouteStats(service, route);
      this.all.set(key, s);
    }
    return s;
  }

  /** prom-client-compatible metric objects (name, help, type, get()) for a Registry. */
  metrics() {
    const stats = () => [...this.all.values()];
    return [
      {
        name: 'tollgate_requests_total',
        help: REQUESTS_HELP,
        type: 'counter',
        aggregator: 'sum',
        text: () =>
          familyText('tollgate_requests_total', REQUESTS_HELP, 'counter', stats(), (s, out) => {
            for (let k = 0; k < 5; k++)
              if (s.n[k] > 0) out.push(`tollgate_requests_total{${s.labels(k)}} ${num(s.n[k])}`);
          }),
        get: () => ({
          name: 'tollgate_requests_total',
          help: REQUESTS_HELP,
          type: 'counter',
          aggregator: 'sum',
          values: stats().flatMap((s) =>
            CLASSES.map((c, i) => ({
              labels: { service: s.service, route: s.route, status_class: c },
              value: s.n[i],
            })).filter((v) => v.value > 0),
          ),
        }),
      },
      {
        name: 'tollgate_request_duration_seconds',
        help: DURATION_HELP,
        type: 'histogram',
        aggregator: 'sum',
        text: () =>
          familyText('tollgate_request_duration_seconds', DURATION_HELP, 'histogram', stats(), (s, out) => {
            for (let k = 0; k < 5; k++) {
              const count = s.n[k];
              if (count === 0) continue;
              const labels = s.labels(k);
              let cumulative = 0;
              for (let i = 0; i < LATENCY_BUCKETS_S.length; i++) {
                cumulative += s.n[BUCKET + k * SLOTS + i];
                out.push(
                  `tollgate_request_duration_seconds_bucket{${labels},le="${LATENCY_BUCKETS_S[i]}"} ${num(cumulative)}`,
                );
              }
              out.push(`tollgate_request_duration_seconds_bucket{${labels},le="+Inf"} ${num(count)}`);
              out.push(`tollgate_request_duration_seconds_sum{${labels}} ${num(s.n[SUM + k])}`);
              out.push(`tollgate_request_duration_seconds_count{${labels}} ${num(count)}`);
            }
          }),
        get: () => {
          const values: Sample[] = [];
          for (const s of stats()) {
            CLASSES.forEach((statusClass, k) => {
              const count = s.n[k];
              if (count === 0) return;
              const labels = { service: s.service, route: s.route, status_class: statusClass };
              let cumulative = 0;
              LATENCY_BUCKETS_S.forEach((le, i) => {
                cumulative += s.n[BUCKET + k * SLOTS + i];
                values.push({
                  labels: { ...labels, le },
                  value: cumulative,
                  metricName: 'tollgate_request_duration_seconds_bucket',
                });
              });
              values.push({
                labels: { ...labels, le: '+Inf' },
                value: count,
                metricName: 'tollgate_request_duration_seconds_bucket',
              });
              values.push({ labels, value: s.n[SUM + k], metricName: 'tollgate_request_duration_seconds_sum' });
              values.push({ labels, value: count, metricName: 'tollgate_request_duration_seconds_count' });
            });
          }
          return {
            name: 'tollgate_request_duration_seconds',
            help: DURATION_HELP,
            type: 'histogram',
            aggregator: 'sum',
            values,
          };
        },
      },
    ];
  }
}
