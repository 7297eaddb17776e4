import { hostname } from 'node:os';
import type { Config } from '../config/schema.ts';
import type { Logger } from '../log.ts';
import type { EventMetrics } from '../metrics.ts';
import { EmbeddedEventSink } from './embedded.ts';
import type { EventSink } from './sink.ts';

export type { EventSink } from './sink.ts';

/**
 * The sink the config asks for. `part` separates processes that write at the
 * same time (cluster workers each get their own log or spool directory).
 */
export async function createEventSink(config: Config, metrics: EventMetrics, log: Logger, part = ''): Promise<EventSink | undefined> {
  const e = config.events;
  const dir = part ? `${e.dir}/${part}` : e.dir;
  switch (e.sink) {
    case 'none':
      return undefined;
    case 'embedded':
      return EmbeddedEventSink.open(dir, e.max_bytes, metrics, log.child({ component: 'events' }));
    case 'kafka':
      // KAFKA_SINK_PENDING: wired when gateway/events/kafka/ lands.
      throw new Error('events.sink: kafka is not available yet');
  }
}

export function nodeName(config: Config): string {
  return config.events.node || hostname();
}
