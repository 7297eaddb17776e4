/**
 * Latency histogram bucket upper bounds in seconds. One list for the gateway's
 * Prometheus histogram and the collector's stored histograms, so the two can
 * be compared and merged bucket by bucket. Never reorder or remove a bucket:
 * stored aggregates are indexed by position.
 */
export const LATENCY_BUCKETS_S: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];
