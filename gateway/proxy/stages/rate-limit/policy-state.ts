import { stateOf, type Runtime } from '../../runtime.ts';
import { DailyQuota } from './daily-quota.ts';
import { TokenBucket } from './token-bucket.ts';

/** Decision outcomes, the `result` label of tollgate_rate_limit_decisions_total. */
export const RESULTS = ['allowed', 'limited', 'quota_exceeded', 'error_open', 'error_closed'] as const;
export const ALLOWED = 0;
export const LIMITED = 1;
export const QUOTA_EXCEEDED = 2;
export const ERROR_OPEN = 3;
export const ERROR_CLOSED = 4;

/**
 * What one policy of one service keeps across reloads: its local buckets and
 * quotas (the whole limit for `backend: local`, the fail-open insurance for
 * `backend: redis`) and its decision counts as plain numbers, turned into
 * Prometheus samples only at scrape time.
 */
export class PolicyState {
  readonly service: string;
  readonly policy: string;
  readonly buckets: TokenBucket;
  readonly quotas: DailyQuota;
  /** Index = one of the result constants above. */
  readonly decisions = new Float64Array(RESULTS.length);

  constructor(service: string, policy: string, maxKeys: number) {
    this.service = service;
    this.policy = policy;
    this.buckets = new TokenBucket(maxKeys);
    this.quotas = new DailyQuota(maxKeys);
  }
}

type Registry = Map<string, PolicyState>;

/** The state of (service, policy), made on first use; metrics are registered once per runtime. */
export function policyState(runtime: Runtime, service: string, policy: string, maxKeys: number): PolicyState {
  const all = stateOf(runtime, 'rate-limit:policies', () => registerMetrics(runtime, new Map()));
  const id = `${service}\0${policy}`;
  let s = all.get(id);
  // A changed max_keys takes effect with fresh (full) buckets: rare, and it errs towards admitting.
  if (s === undefined || s.buckets.maxKeys !== maxKeys) {
    s = new PolicyState(service, policy, maxKeys);
    all.set(id, s);
  }
  return s;
}

function registerMetrics(runtime: Runtime, all: Registry): Registry {
  const metric = (
    name: string,
    help: string,
    type: 'counter' | 'gauge',
    values: () => { labels: Record<string, string>; value: number }[],
  ) => {
    const get = () => ({ name, help, type, aggregator: 'sum', values: values() });
    runtime.metrics.register.registerMetric({ name, help, type, aggregator: 'sum', get } as never);
  };
  const states = () => [...all.values()];
  metric(
    'tollgate_rate_limit_decisions_total',
    'Rate-limit decisions by service, policy and result (allowed, limited, quota_exceeded, error_open, error_closed).',
    'counter',
    () =>
      states().flatMap((s) =>
        RESULTS.map((result, i) => ({
          labels: { service: s.service, policy: s.policy, result },
          value: s.decisions[i],
        })).filter((v) => v.value > 0),
      ),
  );
  metric(
    'tollgate_rate_limit_keys',
    'Counters held in process per policy (token buckets + daily quotas), bounded by rate_limit.max_keys each.',
    'gauge',
    () =>
      states().map((s) => ({
        labels: { service: s.service, policy: s.policy },
        value: s.buckets.size + s.quotas.size,
      })),
  );
  metric(
    'tollgate_rate_limit_evictions_total',
    'Counters dropped to stay within rate_limit.max_keys (a dropped counter starts over).',
    'counter',
    () =>
      states().map((s) => ({
        labels: { service: s.service, policy: s.policy },
        value: s.buckets.evictions + s.quotas.evictions,
      })),
  );
  return all;
}
