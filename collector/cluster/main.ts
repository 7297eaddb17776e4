/**
 * `node collector/cluster/main.ts`: the cluster collector process
 * (tollgate-collector). SIGTERM/SIGINT finish the batch in hand, commit and
 * exit 0. Kafka, ClickHouse or Redis away never ends it: it reconnects or
 * retries with backoff and shows the state in metrics, logs and /readyz.
 * A bug exits 1 without committing, so a supervisor's restart redelivers and
 * nothing is lost or counted twice.
 * `tollgate-collector replay --from TIME` rebuilds the aggregates instead (replay.ts).
 */
import { pino } from 'pino';
import { createClickHouseClient } from '../clickhouse/http-client.ts';
import { enforceRetention } from '../clickhouse/retention.ts';
import { ClusterCollector } from './collector.ts';
import { configFromEnv } from './config.ts';
import { LiveCounters } from './live-counters.ts';
import { CollectorMetrics, startMetricsServer } from './metrics.ts';
import { migrateCommand } from './migrate-command.ts';
import { replayCommand } from './replay.ts';
import { enabledByEnv, startTracingSdk } from '../../shared/tracing/sdk.ts';

// `migrate` applies the ClickHouse migrations and exits (what `npm run migrate` runs, for an image without sources).
if (process.argv[2] === 'migrate') {
  try {
    await migrateCommand();
  } catch (err) {
    console.error(`tollgate-collector migrate: failed: ${(err as Error).message}`);
    process.exit(1);
  }
  process.exit(process.exitCode ?? 0);
}

// `replay --from TIME` rebuilds aggregates from raw events and exits; it needs ClickHouse only, not Kafka.
if (process.argv[2] === 'replay') {
  try {
    process.exit(
      await replayCommand(process.argv.slice(3), process.env, (url) =>
        createClickHouseClient({ url, timeoutMs: 300_000 }),
      ),
    );
  } catch (err) {
    console.error(`tollgate-collector replay: ${(err as Error).message}`);
    process.exit(1);
  }
}

let config: ReturnType<typeof configFromEnv>;
try {
  config = configFromEnv(process.env);
} catch (err) {
  // A settings mistake gets one clear line, not a stack trace.
  console.error(`tollgate-collector: ${(err as Error).message}`);
  process.exit(2);
}
const logger = pino({ name: 'tollgate-collector', level: config.logLevel });
const metrics = new CollectorMetrics();
// One batch's share of a partition is the most a crash can leave applied in Redis but uncommitted: keep that many
// events one by one while a mark is unknown.
const liveCounters = config.redisUrl
  ? new LiveCounters({
      url: config.redisUrl,
      prefix: config.redisPrefix,
      logger,
      maxUncertainEvents: config.batchMaxEvents,
    })
  : undefined;
if (liveCounters && !(await liveCounters.connect()))
  logger.warn('redis not reachable yet; live counters wait in memory until it is');
// Tracing by the standard OTEL_* variables only (the collector has no config file): each batch is a trace.
const tracing = enabledByEnv(process.env)
  ? await startTracingSdk({
      env: process.env,
      maxQueueSpans: 2048,
      sampleRatio: undefined,
      version: '0',
      warn: (message) => logger.warn(`tracing: ${message}`),
    })
  : undefined;
const collector = new ClusterCollector({
  brokers: config.brokers,
  topic: config.topic,
  groupId: config.groupId,
  clientId: config.clientId,
  clickhouse: createClickHouseClient({
    url: config.clickhouseUrl,
    database: config.clickhouseDatabase,
    timeoutMs: 10_000,
  }),
  logger,
  batchMaxEvents: config.batchMaxEvents,
  batchMaxWaitMs: config.batchMaxWaitMs,
  latenessMs: config.latenessMs,
  sessionTimeoutMs: config.sessionTimeoutMs,
  liveCounters,
  metrics,
  tracer: tracing?.tracer,
});
metrics.observeKafka(collector);
// Ready while consuming; a broker outage makes it unready, never ends the process.
const metricsServer = await startMetricsServer(config.metricsListen, metrics.registry, () =>
  collector.kafkaUp ? undefined : 'kafka is not connected; reconnecting',
);

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'stopping: finishing the batch in hand');
  await collector.stop();
  await liveCounters?.close();
  await tracing?.shutdown(2000);
  metricsServer.close();
  logger.info({ stats: collector.stats }, 'stopped');
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));

await collector.start((error) => {
  logger.fatal({ err: error }, 'exiting without committing the batch in hand');
  process.exit(1);
});
logger.info(
  {
    topic: config.topic,
    group: config.groupId,
    database: config.clickhouseDatabase,
    metrics: metricsServer.address(),
    liveCounters: Boolean(liveCounters),
  },
  'collector started',
);

// Raw-event retention: a TTL on ClickHouse 19.6+, dropped day partitions on older servers (18.16 has no table TTL).
const retentionDays = Number(process.env.TOLLGATE_CLICKHOUSE_RETENTION_DAYS || 30);
const retentionClient = createClickHouseClient({ url: config.clickhouseUrl, timeoutMs: 60_000 });
const applyRetention = () =>
  enforceRetention(retentionClient, { database: config.clickhouseDatabase, retentionDays })
    .then((r) => {
      if (r.droppedPartitions.length || r.ttlUpdated) logger.info({ retention: r }, 'raw-event retention applied');
    })
    .catch((err) => logger.warn({ err: (err as Error).message }, 'raw-event retention failed; retrying in an hour'));
void applyRetention();
setInterval(() => void applyRetention(), 3_600_000).unref();
