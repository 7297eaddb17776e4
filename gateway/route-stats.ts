import { LATENCY_BUCKETS_S } from '../shared/latency-buckets.ts';

/** Histogram slots per status class: one per bucket, then +Inf. */
const SLOTS = LATENCY_BUCKETS_S.length + 1;

/**
 * Per-route request counters kept as plain numbers on the request path and
 * turned into Prometheus samples only at scrape time. prom-client's labelled
 * children hash their labels on every inc/observe, which is measurable at
 * proxy rates; these cost an array index and an add.
 */
export class RouteStats {
  readonly service: string;
  readonly route: string;
  /** Requests per status class, index = class - 1 (1xx..5xx); also each class's histogram count. */
  readonly byClass = new Float64Array(5);
  /** Non-cumulative counts per class and bucket: class index k's SLOTS slots start at k * SLOTS; the last of them is +Inf. */
  readonly buckets = new Float64Array(5 * SLOTS);
  /** Summed seconds per class, same index as byClass. */
  readonly sumSeconds = new Float64Array(5);

  /** Per status class, `service="…",route="…",status_class="…"`: made at the first scrape that writes text. */
  private labelText: string[] | undefined = undefined;

  constructor(service: string, route: string) {
    this.service = service;
    this.route = route;
  }

  labels(k: number): string {
    this.labelText ??= CLASSES.map((c) => `service="${escapeLabel(this.service)}",route="${escapeLabel(this.route)}",status_class="${c}"`);
    return this.labelText[k];
  }

  record(status: number, seconds: number): void {
    const c = (status / 100) | 0;
    const k = c >= 1 && c <= 5 ? c - 1 : 4;
    this.byClass[k]++;
    let i = 0;
    while (i < LATENCY_BUCKETS_S.length && seconds > LATENCY_BUCKETS_S[i]) i++;
    this.buckets[k * SLOTS + i]++;
    this.sumSeconds[k] += seconds;
  }
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
async function familyText(name: string, help: string, type: string, stats: RouteStats[], lines: (s: RouteStats, out: string[]) => void): Promise<string> {
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

/** Every RouteStats ever made in this process, so counters survive reloads (bounded by distinct route names). */
export class RouteStatsRegistry {
  private readonly all = new Map<string, RouteStats>();

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
        name: 'tollgate_requests_total', help: REQUESTS_HELP, type: 'counter', aggregator: 'sum',
        text: () => familyText('tollgate_requests_total', REQUESTS_HELP, 'counter', stats(), (s, out) => {
          for (let k = 0; k < 5; k++) if (s.byClass[k] > 0) out.push(`tollgate_requests_total{${s.labels(k)}} ${num(s.byClass[k])}`);
        }),
        get: () => ({
          name: 'tollgate_requests_total', help: REQUESTS_HELP, type: 'counter', aggregator: 'sum',
          values: stats().flatMap((s) => CLASSES.map((c, i) => ({ labels: { service: s.service, route: s.route, status_class: c }, value: s.byClass[i] })).filter((v) => v.value > 0)),
        }),
      },
      {
        name: 'tollgate_request_duration_seconds', help: DURATION_HELP, type: 'histogram', aggregator: 'sum',
        text: () => familyText('tollgate_request_duration_seconds', DURATION_HELP, 'histogram', stats(), (s, out) => {
          for (let k = 0; k < 5; k++) {
            const count = s.byClass[k];
            if (count === 0) continue;
            const labels = s.labels(k);
            let cumulative = 0;
            for (let i = 0; i < LATENCY_BUCKETS_S.length; i++) {
              cumulative += s.buckets[k * SLOTS + i];
              out.push(`tollgate_request_duration_seconds_bucket{${labels},le="${LATENCY_BUCKETS_S[i]}"} ${num(cumulative)}`);
            }
            out.push(`tollgate_request_duration_seconds_bucket{${labels},le="+Inf"} ${num(count)}`);
            out.push(`tollgate_request_duration_seconds_sum{${labels}} ${num(s.sumSeconds[k])}`);
            out.push(`tollgate_request_duration_seconds_count{${labels}} ${num(count)}`);
          }
        }),
        get: () => {
          const values: Sample[] = [];
          for (const s of stats()) {
            CLASSES.forEach((statusClass, k) => {
              const count = s.byClass[k];
              if (count === 0) return;
              const labels = { service: s.service, route: s.route, status_class: statusClass };
              let cumulative = 0;
              LATENCY_BUCKETS_S.forEach((le, i) => {
                cumulative += s.buckets[k * SLOTS + i];
                values.push({ labels: { ...labels, le }, value: cumulative, metricName: 'tollgate_request_duration_seconds_bucket' });
              });
              values.push({ labels: { ...labels, le: '+Inf' }, value: count, metricName: 'tollgate_request_duration_seconds_bucket' });
              values.push({ labels, value: s.sumSeconds[k], metricName: 'tollgate_request_duration_seconds_sum' });
              values.push({ labels, value: count, metricName: 'tollgate_request_duration_seconds_count' });
            });
          }
          return { name: 'tollgate_request_duration_seconds', help: DURATION_HELP, type: 'histogram', aggregator: 'sum', values };
        },
      },
    ];
  }
}
