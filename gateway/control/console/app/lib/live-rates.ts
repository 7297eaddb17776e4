/**
 * Requests per second, error ratio and latency percentiles per service between two readings of the gateway's
 * counters (tollgate_requests_total, tollgate_request_duration_seconds), as Grafana's rate() and
 * histogram_quantile() would give them over that window.
 */
import { histogramQuantile, type Sample } from './prometheus.ts';

export const RATE_FAMILIES = new Set(['tollgate_requests_total', 'tollgate_request_duration_seconds']);

export interface Totals {
  requests: number;
  status4xx: number;
  status5xx: number;
  /** Cumulative latency bucket counts by upper bound in seconds (+Inf included). */
  buckets: Map<number, number>;
}

export interface Rates {
  /** A service's name; '' for all of them together. */
  service: string;
  rps: number;
  /** Share of the window's requests answered with a 5xx. */
  errorRatio: number;
  /** Share answered with a 4xx (refusals: auth, limits, no route). */
  refusedRatio: number;
  p50Ms: number | undefined;
  p95Ms: number | undefined;
  p99Ms: number | undefined;
}

const empty = (): Totals => ({ requests: 0, status4xx: 0, status5xx: 0, buckets: new Map() });

/** Counters summed per service, and over all services under ''. */
export function totalsByService(samples: readonly Sample[]): Map<string, Totals> {
  const out = new Map<string, Totals>([['', empty()]]);
  const of = (service: string) => {
    let t = out.get(service);
    if (t === undefined) out.set(service, (t = empty()));
    return t;
  };
  for (const s of samples) {
    const service = s.labels.service ?? '';
    for (const t of [of(service), out.get('')!]) {
      if (s.name === 'tollgate_requests_total') {
        t.requests += s.value;
        if (s.labels.status_class === '4xx') t.status4xx += s.value;
        if (s.labels.status_class === '5xx') t.status5xx += s.value;
      } else if (s.name === 'tollgate_request_duration_seconds_bucket') {
        const le = s.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(s.labels.le);
        t.buckets.set(le, (t.buckets.get(le) ?? 0) + s.value);
      }
    }
  }
  return out;
}

/** What happened between two readings `seconds` apart; a counter that went back (a restart) counts from 0. */
export function ratesBetween(before: Map<string, Totals>, after: Map<string, Totals>, seconds: number): Rates[] {
  const rates: Rates[] = [];
  for (const [service, now] of after) {
    const then = before.get(service) ?? empty();
    const reset = now.requests < then.requests;
    const delta = (a: number, b: number) => (reset ? a : Math.max(0, a - b));
    const requests = delta(now.requests, then.requests);
    const buckets = [...now.buckets].map(([le, count]) => ({ le, count: delta(count, then.buckets.get(le) ?? 0) }));
    const ms = (q: number) => {
      const s = histogramQuantile(q, buckets);
      return s === undefined ? undefined : s * 1000;
    };
    rates.push({
      service,
      rps: seconds > 0 ? requests / seconds : 0,
      errorRatio: requests > 0 ? delta(now.status5xx, then.status5xx) / requests : 0,
      refusedRatio: requests > 0 ? delta(now.status4xx, then.status4xx) / requests : 0,
      p50Ms: ms(0.5),
      p95Ms: ms(0.95),
      p99Ms: ms(0.99),
    });
  }
  return rates.sort((a, b) => (a.service === '' ? -1 : b.service === '' ? 1 : a.service.localeCompare(b.service)));
}
