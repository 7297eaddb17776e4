import type { Registry } from 'prom-client';
import { totalsCounter } from '../../../shared/totals-counter.ts';
import type { SpanCounts } from '../../../shared/tracing/sdk.ts';

/** What became of the spans the gateway ended: exported, dropped (queue full) or failed (the backend refused). */
export function createTracingMetrics(register: Registry) {
  const source = { spans: (): SpanCounts => ({ exported: 0, dropped: 0, failed: 0 }) };
  totalsCounter(
    {
      name: 'tollgate_tracing_spans_total',
      help:
        'Sampled spans by what became of them: exported; dropped (the queue was full); failed (the backend refused ' +
        'or did not answer the export).',
      labelNames: ['result'] as const,
      registers: [register],
    },
    () => {
      const c = source.spans();
      return [
        [{ result: 'exported' }, c.exported],
        [{ result: 'dropped' }, c.dropped],
        [{ result: 'failed' }, c.failed],
      ];
    },
  );
  return { source };
}
