/**
 * A batch of the cluster collector as a trace of its own (linked to no request: a batch holds thousands), made
 * after it committed from the times the writer took anyway: the batch from the first record read to the commit,
 * and as its children the counting, the ClickHouse inserts, the Redis live counters and the Kafka commit. Pipeline
 * latency then shows in the same tracing backend as the gateway's requests.
 */
import { ROOT_CONTEXT, SpanKind, trace, type Tracer } from '@opentelemetry/api';
import { wallClock } from '../../shared/wall-clock.ts';

/** performance.now() of each phase's end; the batch began at `startedMs` and was counted by `startedMs + countMs`. */
export interface BatchTimes {
  startedMs: number;
  countMs: number;
  writeStartMs: number;
  writtenMs: number;
  liveMs: number;
  doneMs: number;
}

const at = (ms: number) => wallClock.at(ms);

export function traceBatch(
  tracer: Tracer,
  batch: { records: number; rawRows: number; partitions: number; topic: string; redis: boolean },
  t: BatchTimes,
): void {
  const root = tracer.startSpan('collector batch', {
    kind: SpanKind.CONSUMER,
    startTime: at(t.startedMs),
    attributes: {
      'messaging.system': 'kafka',
      'messaging.operation.type': 'process',
      'messaging.destination.name': batch.topic,
      'messaging.batch.message_count': batch.records,
      'tollgate.batch.partitions': batch.partitions,
    },
  });
  const parent = trace.setSpan(ROOT_CONTEXT, root);
  const phase = (name: string, from: number, to: number, attributes: Record<string, string | number> = {}) =>
    tracer.startSpan(name, { startTime: at(from), attributes }, parent).end(at(to));
  phase('count', t.startedMs, t.startedMs + t.countMs);
  phase('clickhouse insert', t.writeStartMs, t.writtenMs, {
    'db.system.name': 'clickhouse',
    'db.operation.name': 'INSERT',
    'tollgate.raw_rows': batch.rawRows,
  });
  if (batch.redis) phase('redis live counters', t.writtenMs, t.liveMs, { 'db.system.name': 'redis' });
  phase('kafka commit', t.liveMs, t.doneMs, { 'messaging.system': 'kafka', 'messaging.operation.type': 'settle' });
  root.end(at(t.doneMs));
}
