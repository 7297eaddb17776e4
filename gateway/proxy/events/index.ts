import { readdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../../control/config/schema.ts';
import { workerCount } from '../../control/config/worker-count.ts';
import type { Logger } from '../../log.ts';
import type { EventMetrics } from '../../metrics.ts';
import { EmbeddedEventSink } from './embedded.ts';
import type { EventSink } from './sink.ts';
import { Unfinished } from './unfinished.ts';

export type { EventSink } from './sink.ts';

/**
 * The sink the config asks for, with the journal of its open requests' final events (unfinished.ts), whose
 * leftovers from a gateway that ended before its requests did it first appends. `part` separates processes that
 * write at the same time (cluster workers each get their own log or spool directory). The first worker (or the one
 * process) also takes over what directories no process of this run writes left (orphanedDirs): their journals, and
 * with Kafka the events their spools still hold (kafka/adopt-spools.ts; the embedded collector reads every
 * directory's log itself).
 */
export async function createEventSink(
  config: Config,
  metrics: EventMetrics,
  log: Logger,
  part = '',
): Promise<EventSink | undefined> {
  const dir = part ? `${config.events.dir}/${part}` : config.events.dir;
  const orphans = orphanedDirs(config, part);
  const sink = await openSink(config, dir, metrics, log, orphans);
  if (sink === undefined) return undefined;
  sink.unfinished = Unfinished.open(dir, sink, log.child({ component: 'events' }), orphans);
  metrics.recovered.inc(sink.unfinished.recovered);
  return sink;
}

/**
 * The directories under events.dir whose unfinished-requests journal no process of this run opens, for the first
 * worker (or the one process) to take over: the one process's when workers write under `w<N>`, every worker's when
 * one process writes events.dir itself, and those of workers past this run's count.
 */
export function orphanedDirs(config: Config, part: string): string[] {
  if (part !== '' && part !== 'w0') return [];
  const dir = config.events.dir;
  const workers = workerCount(config);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const orphans = part === '' ? [] : [dir];
  for (const name of names) {
    const index = /^w(\d+)$/.exec(name)?.[1];
    if (index !== undefined && (part === '' || Number(index) >= workers)) orphans.push(join(dir, name));
  }
  return orphans;
}

async function openSink(
  config: Config,
  dir: string,
  metrics: EventMetrics,
  log: Logger,
  orphans: string[],
): Promise<EventSink | undefined> {
  const e = config.events;
  switch (e.sink) {
    case 'none':
      return undefined;
    case 'embedded':
      return EmbeddedEventSink.open(dir, e.max_bytes, metrics, log.child({ component: 'events' }));
    case 'kafka': {
      // Loaded only when asked for, so a single node does not carry the Kafka client in memory.
      const { adoptSpools, createKafkaSink } = await import('./kafka/index.ts');
      const sink = await createKafkaSink(
        {
          brokers: e.kafka.brokers,
          topic: e.kafka.topic,
          clientId: e.kafka.client_id,
          flushMs: e.kafka.flush_ms,
          batchEvents: e.kafka.batch_events,
          compression: e.kafka.compression,
          timeoutMs: e.kafka.timeout_ms,
          dir,
          maxBytes: e.max_bytes,
        },
        metrics,
        log.child({ component: 'events' }),
      );
      // Before serving: a sink closed meanwhile would drop what it moved, and the old spools would forget it.
      await adoptSpools(orphans, sink, log.child({ component: 'events' }));
      return sink;
    }
  }
}

export function nodeName(config: Config): string {
  return config.events.node || hostname();
}
