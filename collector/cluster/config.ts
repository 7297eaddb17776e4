/**
 * The cluster collector's deploy-time settings, all from TOLLGATE_* variables.
 */
export interface CollectorConfig {
  brokers: string[];
  topic: string;
  groupId: string;
  clientId: string;
  clickhouseUrl: string;
  clickhouseDatabase: string;
  batchMaxEvents: number;
  batchMaxWaitMs: number;
  latenessMs: number;
  sessionTimeoutMs: number;
  logLevel: string;
  /** Live counters are off without it. */
  redisUrl: string | undefined;
  redisPrefix: string;
  /** host:port of the Prometheus /metrics listener. */
  metricsListen: string;
}

export function configFromEnv(env: NodeJS.ProcessEnv): CollectorConfig {
  const brokers = (env.TOLLGATE_KAFKA_BROKERS ?? '')
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  if (brokers.length === 0) throw new Error('TOLLGATE_KAFKA_BROKERS is required (host:port[,host:port…])');
  return {
    brokers,
    topic: env.TOLLGATE_COLLECTOR_TOPIC || 'tollgate.access-events',
    groupId: env.TOLLGATE_COLLECTOR_GROUP || 'tollgate-collector',
    clientId: env.TOLLGATE_COLLECTOR_CLIENT_ID || 'tollgate-collector',
    clickhouseUrl: env.TOLLGATE_CLICKHOUSE_URL || 'http://127.0.0.1:8123',
    clickhouseDatabase: env.TOLLGATE_CLICKHOUSE_DATABASE || 'tollgate',
    batchMaxEvents: positiveInt(env, 'TOLLGATE_COLLECTOR_BATCH_EVENTS', 20_000),
    batchMaxWaitMs: positiveInt(env, 'TOLLGATE_COLLECTOR_BATCH_WAIT_MS', 200),
    latenessMs: positiveInt(env, 'TOLLGATE_COLLECTOR_LATENESS_HOURS', 48) * 3600_000,
    sessionTimeoutMs: positiveInt(env, 'TOLLGATE_COLLECTOR_SESSION_TIMEOUT_MS', 10_000),
    logLevel: env.TOLLGATE_LOG_LEVEL || 'info',
    redisUrl: env.TOLLGATE_REDIS_URL || undefined,
    redisPrefix: env.TOLLGATE_REDIS_PREFIX || 'tollgate:live:',
    metricsListen: env.TOLLGATE_COLLECTOR_METRICS_LISTEN || '127.0.0.1:9091',
  };
}

function positiveInt(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value <= 0)
    throw new Error(`${name} must be a positive integer, got ${JSON.stringify(text)}`);
  return value;
}
